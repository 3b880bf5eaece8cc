// A page's frame rate, measured in the page: requestAnimationFrame timestamps for `seconds`.
// Kept as source text for page.evaluate (tsx would wrap a named function in a helper the
// page does not have): `await page.evaluate(\`(${FRAME_RATE_IN_PAGE})(3)\`)`.

/** What FRAME_RATE_IN_PAGE resolves to. */
export interface FrameRate {
  fps: number;
  /** The 99th percentile of the frame intervals, ms. */
  p99: number;
  /** The longest frame interval, ms. */
  longest: number;
  /** Frames that took longer than two vsyncs (a visible stutter). */
  longFrames: number;
}

export const FRAME_RATE_IN_PAGE = `async (seconds) => {
  const stamps = [];
  await new Promise((resolve) => {
    const step = (now) => {
      stamps.push(now);
      if (now - stamps[0] < seconds * 1000) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  const intervals = stamps.slice(1).map((stamp, index) => stamp - stamps[index]);
  const sorted = [...intervals].sort((a, b) => a - b);
  return {
    fps: (intervals.length * 1000) / (stamps.at(-1) - stamps[0]),
    p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    longest: sorted.at(-1) ?? 0,
    longFrames: intervals.filter((interval) => interval > 33.4).length,
  };
}`;
