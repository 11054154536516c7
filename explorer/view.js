// The interactive graph view: a canvas showing a scene under a camera (zoom
// and pan by wheel, drag, keyboard or buttons; two views may share one
// camera, for side-by-side comparison), hover and click hit tests reported
// to the caller, and a record of how long each frame took to paint (the
// tests read it). Repaints only when something changed, once per animation
// frame.
import { hitEdge, hitNode, paintScene } from "./scene.js";

/** A camera several views can share: world → screen is x·s + tx. */
export class Camera {
  constructor() { this.s = 1; this.tx = 0; this.ty = 0; this.views = new Set(); this.fitted = false; }
  set(s, tx, ty) {
    this.s = Math.min(40, Math.max(0.01, s));
    this.tx = tx; this.ty = ty;
    for (const v of this.views) v.invalidate();
  }
  /** Zoom by factor f keeping screen point (cx, cy) fixed. */
  zoomAt(f, cx, cy) {
    this.fitted = false;
    const s = Math.min(40, Math.max(0.01, this.s * f)), k = s / this.s;
    this.set(s, cx - (cx - this.tx) * k, cy - (cy - this.ty) * k);
  }
  pan(dx, dy) { this.fitted = false; this.set(this.s, this.tx + dx, this.ty + dy); }
}

const FRAME_LOG = 600;

export class GraphView {
  /** `canvas` to draw on; callbacks onHover(edge|null, x, y) and onSelect(node|null, edge|null). */
  constructor(canvas, camera, { onHover, onSelect } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.camera = camera;
    camera.views.add(this);
    this.scene = null;
    this.hi = {};
    this.onHover = onHover ?? (() => {});
    this.onSelect = onSelect ?? (() => {});
    this.frames = [];
    this.pending = false;
    this.size = { w: 0, h: 0, dpr: 1 };
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.listen();
    this.resize();
  }

  setScene(scene, { fit = false } = {}) {
    this.scene = scene;
    if (fit) this.fit();
    this.invalidate();
  }

  highlight(hi) { this.hi = hi; this.invalidate(); }

  /** Fit the scene's bounds into the canvas (and keep it fitted through resizes until the user moves the camera). */
  fit() {
    if (!this.scene) return;
    const { x0, y0, x1, y1 } = this.scene.bounds, { w, h } = this.size;
    if (!w || !h) return;
    const pad = 24, s = Math.min(4, (w - 2 * pad) / Math.max(1, x1 - x0), (h - 2 * pad) / Math.max(1, y1 - y0));
    this.camera.set(s, w / 2 - ((x0 + x1) / 2) * s, h / 2 - ((y0 + y1) / 2) * s);
    this.camera.fitted = true;
  }

  resize() {
    const r = this.canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width)), h = Math.max(1, Math.round(r.height));
    if (w === this.size.w && h === this.size.h && dpr === this.size.dpr) return;
    const first = !this.size.w;
    this.size = { w, h, dpr };
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    if (first || this.camera.fitted) this.fit();
    this.invalidate();
  }

  invalidate() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.paint(); });
  }

  paint() {
    const t0 = performance.now();
    const { w, h, dpr } = this.size, c = this.camera, view = { s: c.s, tx: c.tx, ty: c.ty, w, h, dpr };
    if (this.scene) paintScene(this.ctx, this.scene, view, this.hi);
    else { this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0); this.ctx.fillStyle = "#fff"; this.ctx.fillRect(0, 0, w, h); }
    this.frames.push(performance.now() - t0);
    if (this.frames.length > FRAME_LOG) this.frames.shift();
  }

  /** Block until the canvas has really drawn the last frame (browsers defer raster): for timing only. */
  flush() { this.ctx.getImageData(0, 0, 1, 1); }

  /** World coordinates of a pointer event. */
  world(ev) {
    const r = this.canvas.getBoundingClientRect(), c = this.camera;
    const sx = ev.clientX - r.left, sy = ev.clientY - r.top;
    return { sx, sy, x: (sx - c.tx) / c.s, y: (sy - c.ty) / c.s };
  }

  listen() {
    const cv = this.canvas;
    let drag = null, hoverQueued = null;
    cv.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const { sx, sy } = this.world(ev);
      this.camera.zoomAt(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), sx, sy);
    }, { passive: false });
    cv.addEventListener("pointerdown", (ev) => {
      cv.setPointerCapture(ev.pointerId);
      drag = { x: ev.clientX, y: ev.clientY, moved: 0 };
    });
    cv.addEventListener("pointermove", (ev) => {
      if (drag) {
        const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        drag.x = ev.clientX; drag.y = ev.clientY;
        this.camera.pan(dx, dy);
        return;
      }
      // Hit tests at most once per frame.
      const first = hoverQueued === null;
      hoverQueued = ev;
      if (first) requestAnimationFrame(() => { const e = hoverQueued; hoverQueued = null; this.hover(e); });
    });
    const end = (ev) => {
      if (!drag) return;
      const click = drag.moved < 4;
      drag = null;
      if (click && this.scene) {
        const p = this.world(ev);
        const n = hitNode(this.scene, p.x, p.y);
        this.onSelect(n, n ? null : hitEdge(this.scene, p.x, p.y, 6 / this.camera.s));
      }
    };
    cv.addEventListener("pointerup", end);
    cv.addEventListener("pointercancel", () => { drag = null; });
    cv.addEventListener("pointerleave", () => { if (!drag) this.onHover(null); });
    cv.addEventListener("dblclick", () => this.fit());
    cv.addEventListener("keydown", (ev) => {
      const step = 60, c = this.camera, { w, h } = this.size;
      const keys = {
        ArrowLeft: () => c.pan(step, 0), ArrowRight: () => c.pan(-step, 0), ArrowUp: () => c.pan(0, step), ArrowDown: () => c.pan(0, -step),
        "+": () => c.zoomAt(1.25, w / 2, h / 2), "=": () => c.zoomAt(1.25, w / 2, h / 2), "-": () => c.zoomAt(0.8, w / 2, h / 2), 0: () => this.fit(),
      };
      const f = keys[ev.key];
      if (f) { ev.preventDefault(); f(); }
    });
  }

  hover(ev) {
    if (!this.scene) return;
    const p = this.world(ev);
    const n = hitNode(this.scene, p.x, p.y);
    const e = n ? null : hitEdge(this.scene, p.x, p.y, 6 / this.camera.s);
    this.onHover(e, p.sx, p.sy, n);
  }
}
