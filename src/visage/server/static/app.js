// The visage page: one WebRTC connection to the server carries the avatar's video and voice down, the
// microphone up, and JSON events both ways on a data channel named "events". Settings change by
// reconnecting with new options. Who draws the face: the browser (the default where WebGL 2 works:
// the server sends only the voice and motion frames, on a "motion" channel, and drawing.js draws them)
// or the server (video, for browsers that cannot draw); ?drawing=browser|server or the setting forces
// either. Everything a user can run into (no microphone, a refused connection,
// a network that blocks UDP) ends in a sentence on the page, never in a silent black box.
import { ClientStats } from '/static/stats.js';
import { BrowserFace, browserCanDraw } from '/static/drawing.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CONNECT_TIMEOUT_MS = Number(params.get('connect_timeout')) || 20000;
const NO_VIDEO_MS = 10000;
const SETTINGS_KEY = 'visage.settings';

const stats = new ClientStats();
const canDraw = browserCanDraw();
const browserFace = new BrowserFace($('face'), stats, { measure: params.get('measure') === '1' });
let drawing = 'server'; // who draws the face in the current connection
let pc = null;
let channel = null;
let micStream = null;
let sessionId = null;
let sessionSecret = null; // shown to close our own session, and no one else's
let audioCtx = null;
let timers = [];
let generation = 0; // bumps on every (re)connection, so a stale callback cannot touch a new one
let choices = { upload: { max_bytes: 10 * 1024 * 1024 } };

// -- page state ------------------------------------------------------------------------------------
function setState(state, label) {
  const el = $('state');
  el.className = `pill state-${state}`;
  el.textContent = label || state;
}

function setEmotion(emotion) {
  const el = $('emotion');
  el.className = `pill emotion-${emotion}`;
  el.textContent = emotion;
}

function notice(message, { error = false, action = null } = {}) {
  const el = $('notice');
  if (!message) { el.hidden = true; return; }
  el.className = error ? 'notice error' : 'notice';
  el.textContent = message;
  if (action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = action.label;
    b.onclick = action.run;
    el.append(b);
  }
  el.hidden = false;
}

function subtitle(who, text, partial = false) {
  const el = $(who === 'user' ? 'sub-user' : 'sub-avatar');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('partial', partial);
}

function logLine(who, text, tag) {
  const li = document.createElement('li');
  li.className = who;
  li.textContent = text;
  if (tag) {
    const span = document.createElement('span');
    span.className = 'tag';
    span.textContent = tag;
    li.append(span);
  }
  const log = $('log');
  log.append(li);
  log.scrollTop = log.scrollHeight; // the list scrolls, never the page
}

function setConnected(on) {
  $('start').textContent = on ? 'End' : 'Start';
  $('stop').disabled = !on;
  $('send').disabled = !on;
  $('mic').disabled = !on || !micStream;
}

// -- server events ---------------------------------------------------------------------------------
let replySentences = []; // the current reply; its last two sentences are the subtitle
function onEvent(event) {
  stats.onEvent(event);
  switch (event.type) {
    case 'state':
      setState(event.state);
      break;
    case 'user':
      subtitle('user', event.text, !event.final);
      if (event.final && event.text) { logLine('user', event.text); replySentences = []; }
      break;
    case 'reply':
      replySentences.push(event.text);
      subtitle('avatar', replySentences.slice(-2).join(' '));
      logLine('avatar', event.text, event.emotion && event.emotion !== 'neutral' ? event.emotion : '');
      if (event.emotion) setEmotion(event.emotion);
      break;
    case 'emotion':
      setEmotion(event.emotion);
      break;
    case 'avatar':
      if (drawing === 'browser' && event.face_url) showFace(event.face_url);
      break;
    case 'clock':
      browserFace.setClock(event);
      break;
    case 'error':
      notice(event.message, { error: true });
      break;
    case 'pong':
      stats.onPong(event);
      break;
    case 'closed': // the server ended the conversation: say why, not "connection failed"
      notice(`The conversation ended: ${event.reason}.`);
      disconnect(false);
      setState('idle', 'not connected');
      break;
    default:
      break; // ready, latency: kept in stats
  }
}

// -- the connection --------------------------------------------------------------------------------
function settings() {
  const f = $('settings-form');
  const data = Object.fromEntries(new FormData(f).entries());
  if (data.size) data.size = Number(data.size);
  data.drawing = chooseDrawing(data.drawing);
  if (data.avatar === 'default') delete data.avatar;
  if (!data.knowledge) delete data.knowledge;
  return data;
}

async function openMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    notice('The microphone needs a secure page (https:// or http://localhost); type your messages instead.');
    $('text').focus();
    return null;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (err) {
    const denied = err && (err.name === 'NotAllowedError' || err.name === 'SecurityError');
    notice(denied
      ? 'Microphone access was denied, so you can type instead. To talk, allow the microphone for this site and press Start again.'
      : `No microphone could be opened (${err.name || err}); type your messages instead.`);
    $('text').focus();
    return null;
  }
}

function failed(message) {
  setState('error', 'connection failed');
  notice(message, { error: true, action: { label: 'Try again', run: () => connect() } });
  disconnect(false);
}

async function connect() {
  await disconnect(true);
  const mine = ++generation;
  notice(null);
  setState('connecting', 'connecting...');
  $('start').disabled = true;
  try {
    if (!audioCtx) audioCtx = new AudioContext({ latencyHint: 'interactive' });
    await audioCtx.resume();
    micStream = params.get('mic') === '0' ? null : await openMicrophone();
    pc = new RTCPeerConnection({ iceServers: [] });
    const options = settings();
    drawing = options.drawing;
    if (drawing === 'server') pc.addTransceiver('video', { direction: 'recvonly' });
    else {
      const motion = pc.createDataChannel('motion', { ordered: false, maxRetransmits: 0 });
      motion.onmessage = (e) => {
        try {
          const frame = JSON.parse(e.data);
          stats.onMotion(frame);
          browserFace.push(frame);
        } catch (err) { console.warn(err); }
      };
    }
    if (micStream) pc.addTrack(micStream.getAudioTracks()[0], micStream);
    else pc.addTransceiver('audio', { direction: 'recvonly' });
    channel = pc.createDataChannel('events');
    channel.onmessage = (e) => { try { onEvent(JSON.parse(e.data)); } catch (err) { console.warn(err); } };
    channel.onopen = () => {
      setConnected(true);
      timers.push(setInterval(() => sendJson({ type: 'ping', t: Date.now() }), 5000));
      sendJson({ type: 'ping', t: Date.now() });
    };
    const remote = new MediaStream();
    pc.ontrack = (e) => {
      remote.addTrack(e.track);
      const video = $('avatar');
      if (video.srcObject !== remote) video.srcObject = remote;
      if (e.track.kind === 'audio') {
        stats.attachAudio(audioCtx, micStream, remote).catch((err) => console.warn(err));
        if (drawing === 'browser') browserFace.attach(e.receiver, audioCtx);
      }
      video.play().catch((err) => {
        if (err.name === 'NotAllowedError') notice('Press Start again to hear the avatar (the browser blocked playback).');
      });
    };
    pc.onconnectionstatechange = () => {
      if (mine !== generation) return;
      stats.connection = pc.connectionState;
      if (pc.connectionState === 'connected') {
        if (params.get('vjb')) pc.getReceivers().forEach((r) => { if (r.track.kind === 'video') r.jitterBufferTarget = Number(params.get('vjb')); });
        setState('listening');
        watchVideo(mine);
      } else if (pc.connectionState === 'failed') {
        failed('The media connection failed (ICE failed): the browser could not reach the server over UDP. '
          + 'visage connects directly, without STUN or TURN servers, so open the page on the server\'s own '
          + 'machine or network, and allow UDP through any firewall between them.');
      } else if (pc.connectionState === 'disconnected') {
        notice('The connection was interrupted; waiting for it to come back...');
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc, 3000);
    const response = await fetch('/api/offer', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, options }),
    }).catch(() => null);
    if (mine !== generation) return;
    if (!response) return failed('The server cannot be reached. Is `visage serve` still running?');
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return failed(`The server refused the conversation: ${body.error || response.statusText}`);
    sessionId = body.session;
    sessionSecret = body.secret;
    await pc.setRemoteDescription({ sdp: body.sdp, type: body.type });
    timers.push(setTimeout(() => {
      if (mine === generation && pc && pc.connectionState !== 'connected') {
        failed(`No media connection after ${CONNECT_TIMEOUT_MS / 1000} s (ICE timed out). The browser and the `
          + 'server must reach each other directly over UDP; open the page on the server\'s machine or network.');
      }
    }, CONNECT_TIMEOUT_MS));
  } catch (err) {
    if (mine === generation) failed(`Could not start the conversation: ${err.message || err}`);
  } finally {
    $('start').disabled = false;
  }
}

function iceGathered(peer, timeoutMs) {
  // without STUN, host candidates are all there is: gathering ends fast, the timeout is a safety net
  if (peer.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (peer.iceGatheringState === 'complete') resolve(); };
    peer.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });
}

function watchVideo(mine) {
  const seen = stats.video.frames;
  const moved = stats.motion.frames;
  timers.push(setTimeout(() => {
    if (mine !== generation) return;
    if (drawing === 'browser' ? stats.motion.frames === moved : stats.video.frames === seen && !$('avatar').videoWidth) {
      notice(`Connected, but no ${drawing === 'browser' ? 'motion' : 'video'} arrives. The server may be overloaded; see /health.`, { error: true });
    }
  }, NO_VIDEO_MS));
}

// who draws the face: a forced choice (?drawing=), the setting, else the browser where it can
function chooseDrawing(chosen) {
  const wanted = params.get('drawing') || chosen || 'auto';
  if (wanted === 'server' || !canDraw) return 'server';
  return 'browser';
}

async function showFace(url) {
  const mine = generation;
  try {
    await browserFace.load(url);
    if (mine !== generation) return;
    $('face').hidden = false;
    $('avatar').classList.add('audio-only');
    $('placeholder').hidden = true;
  } catch (err) {
    if (mine !== generation) return;
    notice(`The face could not be drawn here (${err.message || err}); switching to the server's video.`);
    params.set('drawing', 'server');
    connect();
  }
}

async function disconnect(quiet) {
  generation += 1;
  timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
  timers = [];
  sayGoodbye();
  if (channel) { try { channel.close(); } catch (_) { /* already closed */ } channel = null; }
  if (pc) { pc.close(); pc = null; }
  if (micStream) { micStream.getTracks().forEach((t) => t.stop()); micStream = null; }
  $('avatar').srcObject = null;
  browserFace.stop();
  $('face').hidden = true;
  $('avatar').classList.remove('audio-only');
  $('placeholder').hidden = false;
  setConnected(false);
  if (quiet) setState('idle', 'not connected');
}

function sayGoodbye() {
  // keepalive: the request outlives the page; JSON with the session's secret (the server refuses others)
  if (!sessionId) return;
  fetch(`/api/sessions/${sessionId}/close`, {
    method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ secret: sessionSecret }),
  }).catch(() => {});
  sessionId = null;
  sessionSecret = null;
}

function sendJson(message) {
  if (channel && channel.readyState === 'open') { channel.send(JSON.stringify(message)); return true; }
  return false;
}

// -- settings and avatars --------------------------------------------------------------------------
function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => {
    const [value, label] = typeof v === 'object' ? [v.code, `${v.name} (${v.code})`] : [String(v), String(v)];
    const o = new Option(label, value);
    o.selected = value === String(chosen);
    return o;
  }));
}

async function loadChoices() {
  try {
    choices = await (await fetch('/api/options')).json();
  } catch (_) {
    notice('The server did not send its settings; the defaults are used.');
    return;
  }
  const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
  const d = { ...choices.defaults, ...saved };
  fill($('opt-avatar'), choices.avatars, d.avatar || 'default');
  for (const o of $('opt-avatar').options) { // each avatar with the voice it speaks with
    const v = (choices.avatar_voices || {})[o.value];
    if (v) o.textContent = `${o.value} (voice ${v.voice}${v.pitch !== 'normal' ? `, ${v.pitch} pitch` : ''})`;
  }
  fill($('opt-voice'), choices.voices.length ? choices.voices : ['default'], d.voice || 'default');
  if ($('opt-voice').options[0]) $('opt-voice').options[0].textContent = "the avatar's own";
  fill($('opt-style'), choices.styles, d.style || 'friendly');
  fill($('opt-language'), choices.languages, d.language || 'en');
  fill($('opt-size'), choices.sizes, d.size || 512);
  fill($('opt-brain'), choices.brains, choices.brains.includes(d.brain) ? d.brain : choices.brains[0]);
  fill($('opt-knowledge'), ['', ...(choices.knowledge || [])], d.knowledge || '');
  fill($('opt-drawing'), canDraw ? ['auto', 'browser', 'server'] : ['server'], canDraw ? d.drawing || 'auto' : 'server');
  $('opt-drawing').options[0].textContent = canDraw ? 'auto (this browser draws)' : 'server (no WebGL 2 here)';
  $('opt-knowledge').options[0].textContent = "(the brain's own)";
  $('knowledge-field').hidden = !(choices.knowledge || []).length;
  $('upload-max').textContent = Math.round(choices.upload.max_bytes / 1024 / 1024);
}

async function uploadAvatar() {
  const file = $('upload-file').files[0];
  const status = $('upload-status');
  const say = (text, error = false) => { status.textContent = text; status.className = error ? 'hint error' : 'hint'; };
  if (!file) return say('Choose a photo first.', true);
  if (!['image/jpeg', 'image/png', 'image/webp'].includes(file.type)) return say('Use a JPEG, PNG or WebP photo.', true);
  if (file.size > choices.upload.max_bytes) return say(`The photo is over ${Math.round(choices.upload.max_bytes / 1048576)} MB.`, true);
  const form = new FormData();
  form.append('photo', file);
  if ($('upload-name').value.trim()) form.append('name', $('upload-name').value.trim());
  say('Analysing the photo...');
  $('upload-send').disabled = true;
  try {
    const response = await fetch('/api/avatars', { method: 'POST', body: form });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return say(body.error || `The upload failed (${response.status}).`, true);
    await loadChoices();
    $('opt-avatar').value = body.name;
    say(`Avatar "${body.name}" created${body.warnings.length ? `: ${body.warnings.join('; ')}` : ''}. Press Apply to use it.`);
  } catch (err) {
    say(`The upload failed: ${err.message || err}`, true);
  } finally {
    $('upload-send').disabled = false;
  }
}

// -- wiring ----------------------------------------------------------------------------------------
$('start').onclick = () => (pc ? disconnect(true) : connect());
$('stop').onclick = () => { sendJson({ type: 'stop' }); setState('listening'); };
$('mic').onclick = () => {
  if (!micStream) return;
  const track = micStream.getAudioTracks()[0];
  track.enabled = !track.enabled;
  $('mic').setAttribute('aria-pressed', String(track.enabled));
  $('mic').textContent = track.enabled ? 'Mic on' : 'Mic off';
};
function sayText(text) {
  text = (text || '').trim();
  if (!text) return false;
  if (!sendJson({ type: 'text', text })) { notice('Press Start first: the avatar is not connected.'); return false; }
  stats.typed();
  return true;
}
$('text-form').onsubmit = (e) => {
  e.preventDefault();
  if (sayText($('text').value)) $('text').value = '';
};
$('settings-toggle').onclick = () => {
  const panel = $('settings');
  panel.hidden = !panel.hidden;
  $('settings-toggle').setAttribute('aria-expanded', String(!panel.hidden));
};
$('settings-form').onsubmit = (e) => {
  e.preventDefault();
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings()));
  if (pc) connect();
};
$('upload-send').onclick = uploadAvatar;
$('avatar').addEventListener('playing', () => { $('placeholder').hidden = true; });
stats.attachVideo($('avatar'));
setInterval(() => { if (pc) stats.pollRtc(pc).catch(() => {}); }, 1000);
window.addEventListener('pagehide', sayGoodbye);
window.visage = { connect, disconnect, say: sayText, stats, face: browserFace, drawing: () => drawing };

loadChoices().then(() => { if (params.get('autostart') === '1') connect(); });
