"""The routes where people talk with the avatar: WebRTC conversations and motion over a WebSocket.

    POST /api/offer                    {sdp, type, options} -> {sdp, type, session}: a WebRTC conversation
    POST /api/sessions/{id}/close      the page says goodbye: its session is freed at once
    WS   /ws/motion                    {"type": "say", "text", "options"} -> face frames and audio as JSON
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from visage.errors import InputError, VisageError
from visage.live.options import LiveOptions
from visage.live.services import LiveServices
from visage.server.state import ServerState, state_of

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/api/offer")
async def offer(request: Request):
    state = state_of(request)
    try:
        body = await request.json()
        sdp, kind = body["sdp"], body.get("type", "offer")
    except (ValueError, KeyError, TypeError):
        raise InputError("send {\"sdp\": ..., \"type\": \"offer\", \"options\": {...}} as JSON") from None
    options = state.options(body.get("options"))  # a bad setting is a 422 naming it, before any other work
    if kind != "offer" or not isinstance(sdp, str):
        raise InputError("expected an SDP offer")
    _check_offer(sdp)  # before a session is built for it
    peers = state.peers
    if peers.full():
        return JSONResponse({"error": f"the server is busy: {len(peers.active)} conversations are running "
                                      f"(the limit is {peers.max_sessions}); try again later"}, status_code=503)
    await state.ready()
    session = await _build_session(options, state.services)
    try:
        peer, answer = await peers.connect(sdp, kind, session, options)
    except ValueError as exc:  # aiortc's word for an SDP it cannot use
        raise InputError(f"the WebRTC offer could not be used: {exc}") from None
    with contextlib.suppress(Exception):
        peer.send({"type": "avatar", **await asyncio.to_thread(avatar_layout, state.services, options)})
    return {"sdp": answer.sdp, "type": answer.type, "session": peer.id}


@router.post("/api/sessions/{session_id}/close")
async def close_session(session_id: str, request: Request):
    """The page says goodbye (navigator.sendBeacon on pagehide): free the session at once."""
    peer = state_of(request).peers.active.get(session_id)
    if peer is not None:
        peer.close("the page said goodbye")
    return {"closed": peer is not None}


@router.websocket("/ws/motion")
async def motion(ws: WebSocket):
    """Say texts on request and stream the face's motion back; a new text or a stop cuts the current one."""
    state = state_of(ws)
    await ws.accept()
    current: asyncio.Task | None = None
    try:
        while True:
            message = await _receive(ws)
            if message is None:
                continue
            kind = message.get("type")
            if current is not None and not current.done() and kind in ("say", "stop"):
                current.cancel()
                with contextlib.suppress(BaseException):
                    await current
                if kind == "stop":
                    await ws.send_json({"type": "stopped"})
            if kind == "say":
                try:
                    text, options = await _say_request(message, state)
                except VisageError as exc:
                    await ws.send_json({"type": "error", "message": str(exc)})
                    continue
                current = asyncio.ensure_future(_stream_motion(ws, text, options, state.services))
            elif kind != "stop":
                await ws.send_json({"type": "error", "message": f"unknown message type {kind!r}; use say or stop"})
    except WebSocketDisconnect:
        pass
    finally:
        if current is not None:
            current.cancel()


async def _receive(ws: WebSocket) -> dict | None:
    """The next JSON message, or None (the client told why) when it cannot be read."""
    try:
        message = json.loads(await ws.receive_text())
        if not isinstance(message, dict):
            raise ValueError("a message is a JSON object with a 'type'")
        return message
    except ValueError as exc:
        await ws.send_json({"type": "error", "message": f"unreadable message: {exc}"})
        return None


async def _say_request(message: dict, state: ServerState) -> tuple[str, LiveOptions]:
    text = str(message.get("text", "")).strip()
    if not text:
        raise InputError("nothing to say: 'text' is empty")
    options = state.options(message.get("options"))
    await state.ready()
    return text, options


async def _build_session(options: LiveOptions, services: LiveServices):
    """A LiveSession, built off the event loop (it loads a renderer and more)."""
    from visage.live.session import LiveSession

    building = asyncio.ensure_future(asyncio.to_thread(LiveSession, options, services))
    try:
        return await asyncio.shield(building)
    except asyncio.CancelledError:  # the page left while its session was being built
        building.add_done_callback(_close_orphan)
        raise
    except VisageError:
        raise
    except Exception as exc:
        log.exception("could not start a session")
        raise VisageError(f"could not start the conversation: {exc}") from None


def _check_offer(sdp: str) -> None:
    """Refuse an SDP that cannot be a WebRTC offer from the page, cheaply, with a reason."""
    from aiortc.sdp import SessionDescription

    try:
        description = SessionDescription.parse(sdp)
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"the WebRTC offer could not be read: {exc}") from None
    kinds = {m.kind for m in description.media}
    if not kinds & {"audio", "video"}:
        raise InputError("the WebRTC offer asks for no audio or video; the page offers both")


def _close_orphan(building: asyncio.Future) -> None:
    if not building.cancelled() and building.exception() is None:
        asyncio.ensure_future(building.result().close())


async def _stream_motion(ws: WebSocket, text: str, options: LiveOptions, services: LiveServices) -> None:
    from visage.live.motion_stream import stream_motion

    try:
        async for message in stream_motion(text, options, services):
            await ws.send_text(json.dumps(message, ensure_ascii=False))
    except asyncio.CancelledError:
        raise
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # this client's stream only
        log.exception("motion stream failed")
        with contextlib.suppress(Exception):
            await ws.send_json({"type": "error", "message": f"the motion stream failed: {exc}"})


def avatar_layout(services: LiveServices, options: LiveOptions) -> dict:
    """The avatar's name and where its mouth is in the video (the renderer's geometry, see mouth_box)."""
    from visage.backends.renderers.mouth import mouth_box

    avatar = services.avatar(options.avatar)
    return {"name": options.avatar or "default",
            "mouth_box": list(mouth_box(avatar.landmarks, avatar.image.shape[0]))}
