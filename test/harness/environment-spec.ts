/** What the global setup hands to integration tests (through vitest's provide/inject). */
export interface TestCluster {
  readonly name: string;
  readonly server: string;
  readonly kubeconfig: string;
}

export interface TestEnvironment {
  /** INFRA_HOME of the test clusters; pass it as env to anything that looks clusters up. */
  readonly infraHome: string;
  readonly clusters: readonly TestCluster[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    testEnvironment: TestEnvironment;
  }
}
