// Benchmark suite 'slo' (filled in by its issue). Writes reports/bench/slo.json and .md.
export default async function bench(): Promise<void> {
  console.log('slo: no benchmark yet');
}
