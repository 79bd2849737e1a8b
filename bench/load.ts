// Benchmark suite 'load' (filled in by its issue). Writes reports/bench/load.json and .md.
export default async function bench(): Promise<void> {
  console.log('load: no benchmark yet');
}
