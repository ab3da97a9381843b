// ESM mode (node --experimental-vm-modules): @kubernetes/client-node 1.x and
// later @octokit/app ship ESM only, so the project is ESM end to end.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // A real Temporal dev server starts and the workflow bundle is built per suite.
  testTimeout: 120_000,
};
