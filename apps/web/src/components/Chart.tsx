import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: number[];
}

/** Counts over time as bars (two series side by side) (uPlot, bundled: the page loads nothing from elsewhere). */
export function TimeChart({
  times,
  series,
  height = 220,
  label,
}: {
  /** Bucket starts, Unix seconds. */
  times: number[];
  series: ChartSeries[];
  height?: number;
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Two series sit side by side, the first left of its tick and the second right of it.
    const bars = (i: number) =>
      uPlot.paths.bars!({ size: [0.4, 30], gap: 1, align: series.length === 2 ? (i === 0 ? -1 : 1) : 0 });
    const step = times.length > 1 ? times[1] - times[0] : 60;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Half a bucket on each side, so the first and last bars are not cut in half.
        x: { time: true, range: (_u, min, max) => [min - step / 2, max + step / 2] },
        y: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
      },
      axes: [
        { stroke: '#6b7280' },
        { stroke: '#6b7280', size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10_000] },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}cc`,
          width: 1,
          paths: bars(i),
          points: { show: false },
        })),
      ],
    };
    // An empty bucket draws no bar at all rather than a line on the axis.
    const data: uPlot.AlignedData = [times, ...series.map((s) => s.values.map((v) => (v > 0 ? v : null)))];
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [times, series, height]);

  return <div className="chart" ref={box} role="img" aria-label={label} data-testid="chart" />;
}
