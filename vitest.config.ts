import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // Two cores: keep timing-sensitive socket tests from fighting each other.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // The container tests (Docker, minutes of container start-ups) run after everything else, so they
    // never compete for the two cores with the timing-sensitive tests (groupOrder: one group at a time).
    projects: [
      { extends: true, test: { name: 'core', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['test/containers/**', '**/node_modules/**'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'containers', include: ['test/containers/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
