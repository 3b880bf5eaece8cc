// uPlot charts on a dark card: a rolling window of samples, redrawn when a sample is
// added (a few times a second), never per message.
import uPlot from 'uplot';
import { clock } from './format.js';

export interface SeriesSpec {
  label: string;
  color: string;
  /** The y scale this series uses: 'y' (left axis) by default, or 'y2' (right axis). */
  scale?: 'y' | 'y2';
  fill?: boolean;
}

export interface ChartSpec {
  series: readonly SeriesSpec[];
  /** Seconds of history shown once the window has filled. */
  windowS: number;
  /** Formats left (and right, if any series uses it) axis values; `step` is the distance between ticks. */
  y: (value: number, step: number) => string;
  y2?: (value: number, step: number) => string;
  /** The left axis starts at 0 (rates, sizes) instead of fitting the data. */
  fromZero?: boolean;
}

/** Samples are kept for at most this many points per series. */
const MAX_POINTS = 1_200;
const FONT = '11px "Inter", "Liberation Sans", Arial, sans-serif';
const AXIS_STROKE = '#8391a7';
const GRID_STROKE = 'rgba(148, 163, 184, 0.10)';
/** Below this much history, the x axis still spans this many seconds (ending now). */
const MIN_SPAN_S = 10;

function withAlpha(hex: string, alpha: number): string {
  const value = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

function axis(format: (value: number, step: number) => string, side?: 1): uPlot.Axis {
  return {
    ...(side === undefined ? {} : { side, scale: 'y2', grid: { show: false } }),
    stroke: AXIS_STROKE,
    font: FONT,
    size: 44,
    gap: 4,
    ticks: { stroke: GRID_STROKE, width: 1, size: 3 },
    ...(side === undefined ? { grid: { stroke: GRID_STROKE, width: 1 } } : {}),
    values: (_chart, splits) => {
      const step = splits.length > 1 ? Math.abs((splits[1] as number) - (splits[0] as number)) : 1;
      return splits.map((value) => format(value, step));
    },
  };
}

/** A chart of time series that scrolls: push a sample, and it is drawn. */
export class LiveChart {
  readonly #chart: uPlot;
  readonly #data: number[][];
  readonly #observer: ResizeObserver;
  #points = 0;

  constructor(container: HTMLElement, spec: ChartSpec) {
    this.#data = [[], ...spec.series.map(() => [])];
    const usesY2 = spec.series.some((series) => series.scale === 'y2');
    const windowS = spec.windowS;
    const options: uPlot.Options = {
      width: Math.max(100, container.clientWidth),
      height: Math.max(80, container.clientHeight),
      pxAlign: 0,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      padding: [8, usesY2 ? 4 : 12, 0, 0],
      scales: {
        x: {
          time: true,
          // Fill the width from the first sample; scroll once the window is full.
          range: (_chart, min, max) => [Math.min(Math.max(min, max - windowS), max - MIN_SPAN_S), max],
        },
        y: spec.fromZero ? { range: (_chart, _min, max) => [0, Math.max(1, max * 1.15)] } : {},
        ...(usesY2 ? { y2: { range: (_chart, _min, max) => [0, Math.max(1, max * 1.15)] } } : {}),
      },
      axes: [
        {
          stroke: AXIS_STROKE,
          font: FONT,
          size: 26,
          space: 64,
          ticks: { stroke: GRID_STROKE, width: 1, size: 3 },
          grid: { stroke: GRID_STROKE, width: 1 },
          values: (_chart, splits) => splits.map((seconds) => clock(seconds * 1000)),
        },
        axis(spec.y),
        ...(usesY2 && spec.y2 !== undefined ? [axis(spec.y2, 1)] : []),
      ],
      series: [
        {},
        ...spec.series.map(
          (series): uPlot.Series => ({
            label: series.label,
            stroke: series.color,
            width: 1.5,
            scale: series.scale ?? 'y',
            points: { show: false },
            ...(series.fill ? { fill: withAlpha(series.color, 0.12) } : {}),
          }),
        ),
      ],
    };
    this.#chart = new uPlot(options, this.#data as uPlot.AlignedData, container);
    // Keep the canvas the size of its card: the layout decides, the chart follows.
    this.#observer = new ResizeObserver(() => {
      const width = Math.floor(container.clientWidth);
      const height = Math.floor(container.clientHeight);
      if (width > 0 && height > 0) this.#chart.setSize({ width, height });
    });
    this.#observer.observe(container);
  }

  /** Adds one sample (x in seconds) of every series, drops the oldest past the limit, redraws. */
  push(xSeconds: number, values: readonly number[]): void {
    const data = this.#data;
    (data[0] as number[]).push(xSeconds);
    for (let i = 0; i < values.length; i++) (data[i + 1] as number[]).push(values[i] as number);
    if ((data[0] as number[]).length > MAX_POINTS) for (const series of data) series.shift();
    this.#points++;
    this.#chart.setData(data as uPlot.AlignedData);
  }

  /** Samples pushed since the chart was made. */
  get points(): number {
    return this.#points;
  }
}
