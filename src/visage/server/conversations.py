"""The routes where people talk with the avatar: WebRTC conversations and motion over a WebSocket.

    POST /api/offer                    {sdp, type, options} -> {sdp, type, session}: a WebRTC conversation
    POST /api/sessions/{id}/close      {"secret"}: the page says goodbye: its session is freed at once
    WS   /ws/motion                    {"type": "say", "text", "options"} -> face frames and audio as JSON

With options.drawing == "browser" the conversation sends no video: the page draws the face (faces.py
serves what it draws) from motion frames on the "motion" data channel (peers.py).

A session's id and secret, and a conversation's resume token, are given to the page that made them
only; naming another's id without its secret closes or loads nothing. A refused offer says why (400
for an SDP that cannot be used, 422 for a setting, 429/503 when busy) and leaves nothing behind.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from visage.errors import BackendError, InputError, VisageError
from visage.live.options import LiveOptions
from visage.live.services import LiveServices
from visage.server.access import client_key
from visage.server.catalog import conversation_token
from visage.server.faces import face_url
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
        return _bad_offer("expected an SDP offer: {\"sdp\": \"v=0...\", \"type\": \"offer\"}")
    problem = _offer_problem(sdp)  # before a session is built for it
    if problem:
        return _bad_offer(problem)
    peers = state.peers
    if peers.full(options.drawing):
        drawn = options.drawing == "browser"
        running = peers.counts()[1 if drawn else 0]
        kind = "browser-drawn" if drawn else "video"
        return JSONResponse({"error": f"the server is busy: {running} {kind} conversations are running (the "
                                      f"limit is {peers.max_drawn if drawn else peers.max_sessions}); try again "
                                      "later"}, status_code=503, headers={"Retry-After": "30"})
    await state.ready()
    if state.workers is not None:
        return await _offer_to_worker(state, sdp, kind, options, client_key(request.scope))
    session = await _build_session(options, state.services)
    try:
        peer, answer = await peers.connect(sdp, kind, session, options, client_key(request.scope))
    except Exception as exc:  # aiortc's word (ValueError, AssertionError...) for an SDP it cannot use
        log.info("an offer could not be answered: %r", exc)
        return _bad_offer("the WebRTC offer could not be used (its media, codecs or DTLS fingerprint)")
    with contextlib.suppress(Exception):
        peer.send({"type": "avatar", **await asyncio.to_thread(avatar_layout, state, options)})
    conversation = session.chat.conversation.session_id
    return {"sdp": answer.sdp, "type": answer.type, "session": peer.id, "secret": peer.secret,
            "conversation_id": conversation, "conversation_token": conversation_token(conversation)}


@router.post("/api/sessions/{session_id}/close")
async def close_session(session_id: str, request: Request):
    """The page says goodbye (fetch keepalive on pagehide) with its session's secret: freed at once.
    An unknown id and a wrong secret get the same answer."""
    try:
        secret = (await request.json()).get("secret")
    except (ValueError, AttributeError):
        secret = None
    state = state_of(request)
    if state.workers is not None:
        closed = await state.workers.close_session(session_id, secret)
    else:
        peer = state.peers.owned(session_id, secret)
        closed = peer is not None
        if closed:
            peer.close("the page said goodbye")
    if not closed:
        return JSONResponse({"error": "no session of yours has this id", "closed": False}, status_code=404)
    return {"closed": True}


async def _offer_to_worker(state: ServerState, sdp: str, kind: str, options: LiveOptions, client: str):
    """The checked offer, answered by a worker process (workers.py); the avatar's layout is made here,
    where the faces it names are served."""
    layout = None
    with contextlib.suppress(Exception):
        layout = await asyncio.to_thread(avatar_layout, state, options)
    answer = await state.workers.offer(sdp, kind, options, client, layout)
    if answer is None:
        return _bad_offer("the WebRTC offer could not be used (its media, codecs or DTLS fingerprint)")
    conversation = answer["conversation_id"]
    return {"sdp": answer["sdp"], "type": answer["type"], "session": answer["session"], "secret": answer["secret"],
            "conversation_id": conversation, "conversation_token": conversation_token(conversation),
            "worker": answer["worker_pid"]}


@router.websocket("/ws/motion")
async def motion(ws: WebSocket):
    """Say texts on request and stream the face's motion back; a new text or a stop cuts the current one."""
    state = state_of(ws)
    await ws.accept()
    current: asyncio.Task | None = None
    client = client_key(ws.scope)
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
                    text, options = await _say_request(message, state, client)
                except VisageError as exc:
                    await ws.send_json({"type": "error", "message": str(exc)})
                    continue
                current = asyncio.ensure_future(_stream_motion(ws, text, options, state))
            elif kind != "stop":
                await ws.send_json({"type": "error", "message": f"unknown message type {kind!r}; use say or stop"})
    except WebSocketDisconnect:
        pass
    finally:
        if current is not None:
            current.cancel()


async def _receive(ws: WebSocket) -> dict | None:
    """The next JSON message, or None (the client told why) when it cannot be read; a binary frame is
    an error message too, and the connection stays open."""
    received = await ws.receive()
    if received["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(received.get("code", 1000))
    try:
        if received.get("text") is None:
            raise ValueError("messages are JSON text frames, not binary")
        message = json.loads(received["text"])
        if not isinstance(message, dict):
            raise ValueError("a message is a JSON object with a 'type'")
        return message
    except ValueError as exc:
        await ws.send_json({"type": "error", "message": f"unreadable message: {exc}"})
        return None


async def _say_request(message: dict, state: ServerState, client: str) -> tuple[str, LiveOptions]:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("nothing to say: 'text' must be the words to say, as a string")
    if len(text) > state.limits.max_say_chars:
        raise InputError(f"the text is over {state.limits.max_say_chars} characters; send it in parts")
    wait = state.messages.wait(client)
    if wait:
        raise InputError(f"too many requests; try again in {wait:.0f} s")
    options = state.options(message.get("options"))
    await state.ready()
    return text.strip(), options


async def _build_session(options: LiveOptions, services: LiveServices):
    """A LiveSession, built off the event loop (it loads a renderer and more)."""
    from visage.live.session import LiveSession

    building = asyncio.ensure_future(asyncio.to_thread(LiveSession, options, services))
    try:
        return await asyncio.shield(building)
    except asyncio.CancelledError:  # the page left while its session was being built
        building.add_done_callback(_close_orphan)
        raise
    except InputError:
        raise
    except BackendError as exc:  # a model server's failure: its details (refused? timed out?) stay in the log
        log.warning("could not start a session: %s", exc)
        raise VisageError("the conversation's brain or voice is not available now; the server's log says why") from None
    except Exception:
        log.exception("could not start a session")
        raise VisageError("could not start the conversation; the server's log says why") from None


def _bad_offer(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _offer_problem(sdp: str) -> str | None:
    """Why an SDP cannot be a WebRTC offer from the page (None: it may be), cheaply, before any work."""
    from aiortc.sdp import SessionDescription

    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises ValueError, IndexError, KeyError, AssertionError...
        return f"the WebRTC offer could not be read ({type(exc).__name__})"
    media = [m for m in description.media if m.kind in ("audio", "video")]
    if not media:
        return "the WebRTC offer asks for no audio or video; the page offers both"
    if any(not m.rtp.codecs for m in media):
        return "the WebRTC offer names no codec (a=rtpmap) for its audio or video"
    if any(not (m.dtls and m.dtls.fingerprints) for m in media):
        return "the WebRTC offer has no DTLS fingerprint (a=fingerprint)"
    if any(not (m.ice and m.ice.usernameFragment and m.ice.password) for m in media):
        return "the WebRTC offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"
    return None


def _close_orphan(building: asyncio.Future) -> None:
    if not building.cancelled() and building.exception() is None:
        asyncio.ensure_future(building.result().close())


async def _stream_motion(ws: WebSocket, text: str, options: LiveOptions, state: ServerState) -> None:
    from visage.live.motion_stream import stream_motion

    if state.motion_streams >= state.limits.max_motion_streams:
        with contextlib.suppress(Exception):
            await ws.send_json({"type": "error", "message": "the server is busy streaming motion to others; "
                                                            "try again in a few seconds", "retry_after": 5})
        return
    state.motion_streams += 1
    try:
        async for message in stream_motion(text, options, state.services):
            await ws.send_text(json.dumps(message, ensure_ascii=False))
    except asyncio.CancelledError:
        raise
    except WebSocketDisconnect:
        pass
    except Exception:  # this client's stream only
        log.exception("motion stream failed")
        with contextlib.suppress(Exception):
            await ws.send_json({"type": "error", "message": "the motion stream failed; the server's log says why"})
    finally:
        state.motion_streams -= 1


def avatar_layout(state: ServerState, options: LiveOptions) -> dict:
    """The avatar's name, where its mouth is in the picture (the renderer's geometry, see mouth_box) and,
    when the page draws, the versioned URL of the face it draws (built here, so the page's fetch is quick)."""
    from visage.backends.renderers.mouth import mouth_box

    avatar = state.services.avatar(options.avatar)
    layout = {"name": options.avatar or "default", "drawing": options.drawing,
              "mouth_box": list(mouth_box(avatar.landmarks, avatar.image.shape[0]))}
    if options.drawing == "browser":  # where the page fetches the face it draws (faces.py), once
        payload = state.faces.get(state.services, options.avatar, options.size)
        layout["face_url"] = face_url(options.avatar, options.size, payload.version)
    return layout
