const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "never", "just now", "5 minutes ago", "yesterday", or a date for anything older than a month. */
export function lastUsed(at: number | null, now: number = Date.now()): string {
  if (at === null) return "never";
  const ago = now - at;
  if (ago < MINUTE) return "just now";
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (ago < HOUR) return rtf.format(-Math.floor(ago / MINUTE), "minute");
  if (ago < DAY) return rtf.format(-Math.floor(ago / HOUR), "hour");
  if (ago < 30 * DAY) return rtf.format(-Math.floor(ago / DAY), "day");
  return shortDate(at);
}

/** A date without the time, in the user's locale. */
export function shortDate(at: number): string {
  return new Date(at).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** `12 models · 340 ms` */
export function testSummary(models: number, latencyMs: number): string {
  return `${models} ${models === 1 ? "model" : "models"} · ${latencyMs} ms`;
}
