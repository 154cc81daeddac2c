// Spend (bars) and tokens (a line) over time, drawn with uPlot: a small (≈50 kB), dependency-free canvas chart that
// stays fast with thousands of points. Kept apart from the page so tests can stand in for it (jsdom has no canvas).
import { useEffect, useRef, type ReactElement } from "react";
// Before uPlot, which reads navigator.language when it loads.
import "../lib/locale";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { compact, usd } from "../lib/money";
import type { ChartData } from "./usageView";

const HEIGHT = 220;

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function UsageChart({ data, hourly, label }: { data: ChartData; hourly: boolean; label: string }): ReactElement {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const accent = cssVar("--accent", "#5048e5");
    const muted = cssVar("--text-muted", "#62626f");
    const grid = cssVar("--border", "#e4e4e9");
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 320),
      height: HEIGHT,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, usd: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }, tok: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          ...axis,
          values: hourly ? "{HH}:{mm}" : "{MMM} {D}",
          // Whole buckets only: no "Nov 20" twice for a day split at noon.
          incrs: hourly ? [3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600] : [86400, 2 * 86400, 7 * 86400, 30 * 86400],
        },
        { ...axis, scale: "usd", values: (_u, vals) => vals.map((v) => usd(v)), size: 90 },
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- uPlot's Side is an ambient const enum (not importable with isolatedModules); 1 is Right
        { ...axis, scale: "tok", side: 1, values: (_u, vals) => vals.map((v) => compact(v)), grid: { show: false } },
      ],
      series: [
        { value: (_u, v) => (v > 0 ? new Date(v * 1000).toLocaleString() : "") },
        {
          label: "Spend",
          scale: "usd",
          stroke: accent,
          fill: `${accent}55`,
          paths: uPlot.paths.bars?.({ size: [0.7, 40] }),
          value: (_u, v) => usd(v),
        },
        { label: "Tokens", scale: "tok", stroke: muted, width: 1.5, value: (_u, v) => compact(v) },
      ],
    };
    const plot = new uPlot(opts, [data.xs, data.cost, data.tokens], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 320), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data, hourly]);

  return <div className="usage-chart" ref={box} role="img" aria-label={label} style={{ minHeight: HEIGHT + 40 }} />;
}
