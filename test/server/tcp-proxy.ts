import { createServer, connect, type Server, type Socket } from "node:net";

/** A TCP proxy the test can cut and restore, standing for a network path to a database. */
export interface TcpProxy {
  readonly port: number;
  /** Stops accepting and cuts every open connection (as a lost network or a dead host does). */
  cut(): Promise<void>;
  /** Accepts again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const make = (): Server =>
    createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  const listen = (s: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const a = s.address();
        resolve(typeof a === "object" && a !== null ? a.port : port);
      });
    });
  let server: Server | undefined = make();
  const port = await listen(server, 0);
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
  };
  return {
    port,
    cut,
    async restore() {
      server = make();
      await listen(server, port);
    },
    close: cut,
  };
}
