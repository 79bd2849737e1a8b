// Benchmark suite 'injector' (filled in by its issue). Writes reports/bench/injector.json and .md.
export default async function bench(): Promise<void> {
  console.log('injector: no benchmark yet');
}
