// The test helper ships no typings; this declares the part the tests use.
declare module 'node-red-node-test-helper' {
  const helper: {
    init(nodeRedPath: string, settings?: object): void;
    startServer(done: () => void): void;
    stopServer(done: () => void): void;
    load(nodes: unknown, flow: object[], credentials: object, cb: () => void): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): unknown;
    settings(settings?: object): object;
  };
  export = helper;
}
