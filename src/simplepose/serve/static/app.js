// The page of `simplepose serve`: send a photo to /v1/predict, draw the answer on a canvas.
// No library, no CDN: it works offline, from the server that serves it.
"use strict";
const $ = (id) => document.getElementById(id);
const COLORS = { left: "#ff8f00", right: "#1e88e5", centre: "#43a047" };
let skeleton = { joints: [], limbs: [] };
let photo = null;   // the ImageBitmap drawn under the skeletons
let answer = null;  // the last JSON answer

$("token").value = localStorage.getItem("simplepose-token") || "";
$("token").addEventListener("change", () => localStorage.setItem("simplepose-token", $("token").value));

function headers() {
  const t = $("token").value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

function side(name) {
  return name.startsWith("left") ? "left" : name.startsWith("right") ? "right" : "centre";
}

async function ready() {
  try {
    const r = await fetch("/readyz");
    const j = await r.json();
    skeleton = j.skeleton;
    $("status").textContent = `ready: ${j.model.split("/").pop()} · detector ${j.detector} · runtime ${j.runtime}`;
  } catch (e) {
    $("status").textContent = "not ready: " + e;
  }
}

function draw() {
  const canvas = $("canvas"), ctx = canvas.getContext("2d");
  if (!photo) return;
  canvas.width = photo.width;
  canvas.height = photo.height;
  ctx.drawImage(photo, 0, 0);
  if (!answer) return;
  const thresh = parseFloat($("thresh").value);
  const pen = Math.max(2, Math.round(Math.max(photo.width, photo.height) / 250));
  ctx.font = `${6 * pen}px system-ui, sans-serif`;
  answer.people.forEach((p, n) => {
    const [x1, y1, x2, y2] = p.box;
    ctx.lineWidth = pen;
    ctx.strokeStyle = "#eeeeee";
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = `#${n + 1} ${p.score.toFixed(2)}`;
    ctx.fillStyle = "rgba(0,0,0,.6)";
    ctx.fillRect(x1, y1, ctx.measureText(label).width + 2 * pen, 7 * pen);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, x1 + pen, y1 + 6 * pen);
    const k = p.keypoints;
    ctx.lineWidth = 1.5 * pen;
    for (const [a, b] of skeleton.limbs) {
      if (k[a][2] < thresh || k[b][2] < thresh) continue;
      const sa = side(skeleton.joints[a]), sb = side(skeleton.joints[b]);
      ctx.strokeStyle = COLORS[sa === sb ? sa : "centre"];
      ctx.beginPath(); ctx.moveTo(k[a][0], k[a][1]); ctx.lineTo(k[b][0], k[b][1]); ctx.stroke();
    }
    k.forEach(([x, y, c], j) => {
      if (c < thresh) return;
      ctx.fillStyle = COLORS[side(skeleton.joints[j] || "")];
      ctx.beginPath(); ctx.arc(x, y, 1.6 * pen, 0, 2 * Math.PI); ctx.fill();
    });
  });
}

function list() {
  const ol = $("people");
  ol.innerHTML = "";
  const thresh = parseFloat($("thresh").value);
  answer.people.forEach((p, n) => {
    const li = document.createElement("li");
    const shown = p.keypoints.filter((k) => k[2] >= thresh).length;
    li.textContent = `#${n + 1} score ${p.score.toFixed(3)} · ${shown}/${p.keypoints.length} joints shown · box ` +
      p.box.map((v) => v.toFixed(0)).join(", ");
    ol.appendChild(li);
  });
  $("count").textContent = `(${answer.people.length})`;
}

async function send(file) {
  $("status").textContent = `sending ${file.name}…`;
  $("status").className = "";
  photo = await createImageBitmap(file, { imageOrientation: "none" });  // as the server: EXIF ignored
  answer = null;
  draw();
  const form = new FormData();
  form.append("image", file);
  form.append("flip_test", $("flip").checked ? "true" : "false");
  const t0 = performance.now();
  const r = await fetch("/v1/predict", { method: "POST", body: form, headers: headers() });
  const j = await r.json();
  if (!r.ok) {
    $("status").textContent = `${r.status}: ${j.error}`;
    $("status").className = "error";
    return;
  }
  answer = j;
  $("json").textContent = JSON.stringify(j, null, 1);
  $("download").disabled = false;
  const n = j.people.length;
  $("status").textContent = `${file.name}: ${n} ${n === 1 ? "person" : "people"} in ${(performance.now() - t0).toFixed(0)} ms`;
  list();
  draw();
  document.body.dataset.drawn = String(j.people.length);  // for tests: the drawing is done
}

$("file").addEventListener("change", (e) => e.target.files[0] && send(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) send(e.dataTransfer.files[0]);
});
$("thresh").addEventListener("input", () => {
  $("threshOut").textContent = parseFloat($("thresh").value).toFixed(2);
  if (answer) { list(); draw(); }
});
$("download").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(answer, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "poses.json";
  a.click();
  URL.revokeObjectURL(a.href);
});
// Video jobs: upload, poll the state, then show the drawn frames one by one at the video's rate
// (the drawn MP4 is mp4v, which browsers do not play; the server sends each frame as a JPEG).
let job = null;

async function authed(url) {  // a blob URL of an authorised GET (links cannot send the token)
  const r = await fetch(url, { headers: headers() });
  if (!r.ok) throw new Error(`${r.status}`);
  return URL.createObjectURL(await r.blob());
}

async function poll(id) {
  const r = await fetch(`/v1/videos/${id}`, { headers: headers() });
  const j = await r.json();
  if (!r.ok) { $("videoStatus").textContent = j.error; return; }
  $("videoProgress").max = j.frames_total;
  $("videoProgress").value = j.frames_done;
  $("videoStatus").textContent = `${j.state}: ${j.frames_done}/${j.frames_total} frames, ${j.frames_per_second} frames/s` +
    (j.reason ? ` (${j.reason})` : "");
  if (j.state === "queued" || j.state === "running") { setTimeout(() => poll(id), 300); return; }
  if (j.state !== "done") return;
  job = j;
  $("videoPlay").disabled = false;
  $("videoJson").href = await authed(`/v1/videos/${id}/result`);
  $("videoMp4").href = await authed(`/v1/videos/${id}/video`);
  $("videoJson").hidden = $("videoMp4").hidden = false;
  play();
}

async function play() {
  const img = $("videoFrame");
  img.hidden = false;
  for (let t = 0; t < job.frames_total; t++) {
    const t0 = performance.now();
    const src = await authed(`/v1/videos/${job.id}/frames/${t}`);
    await new Promise((ok) => { img.onload = ok; img.src = src; });
    document.body.dataset.videoFrame = String(t);
    await new Promise((ok) => setTimeout(ok, Math.max(0, 1000 / job.video_fps - (performance.now() - t0))));
  }
}

$("videoFile").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("video", file);
  $("videoStatus").textContent = "uploading…";
  const r = await fetch("/v1/videos", { method: "POST", body: form, headers: headers() });
  const j = await r.json();
  if (!r.ok) { $("videoStatus").textContent = `${r.status}: ${j.error}`; return; }
  poll(j.id);
});
$("videoPlay").addEventListener("click", () => job && play());
ready();
