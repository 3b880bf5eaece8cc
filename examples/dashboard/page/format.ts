// How numbers and times read on the page.

const pad2 = (value: number) => (value < 10 ? `0${value}` : String(value));

/** 14:03:20, local time. */
export function clock(timeMs: number): string {
  const date = new Date(timeMs);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** `just now`, `12 s ago`, `3 min ago`. */
export function ago(timeMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - timeMs) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ago`;
}

export const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** 200, 1k, 20k */
export function rateLabel(updatesPerSecond: number): string {
  return updatesPerSecond >= 1000 && updatesPerSecond % 1000 === 0
    ? `${updatesPerSecond / 1000}k`
    : String(updatesPerSecond);
}
