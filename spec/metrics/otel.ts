/**
 * The OpenTelemetry SDK's own pipeline for the metrics specs: a MeterProvider whose periodic reader exports to
 * the SDK's InMemoryMetricExporter, flushed on demand (the export interval is far longer than any test).
 */
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from "@opentelemetry/sdk-metrics";

export interface Point {
  attributes: Record<string, unknown>;
  value: number;
}

export interface TestMeter {
  provider: MeterProvider;
  /** Exports now and answers the metric named `name` (undefined when nothing was recorded to it). */
  metric(name: string): Promise<MetricData | undefined>;
  /** Each data point of counter `name`, as attributes and value; [] when nothing was recorded. */
  points(name: string): Promise<Point[]>;
  /** Counter `name`'s total over all attribute sets. */
  total(name: string): Promise<number>;
  shutdown(): Promise<void>;
}

export function testMeter(): TestMeter {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  async function metric(name: string) {
    exporter.reset();
    await reader.forceFlush();
    const exported = exporter.getMetrics().at(-1);
    const all = exported?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    return all.find((m) => m.descriptor.name === name);
  }
  async function points(name: string): Promise<Point[]> {
    const m = await metric(name);
    if (!m) return [];
    if (m.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a counter`);
    return m.dataPoints.map((p) => ({ attributes: { ...p.attributes }, value: p.value }));
  }
  return {
    provider,
    metric,
    points,
    async total(name) {
      return (await points(name)).reduce((sum, p) => sum + p.value, 0);
    },
    shutdown: () => provider.shutdown(),
  };
}
