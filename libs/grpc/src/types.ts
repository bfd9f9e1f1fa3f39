/** The parts of a grpc-js method definition (as ts-proto generates it) this lib relies on. */
export interface UnaryMethodDefinition<Req, Res> {
  path: string;
  requestStream: false;
  responseStream: false;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

/** One request, a stream of responses (`returns (stream X)` in the .proto). */
export interface ServerStreamingMethodDefinition<Req, Res> {
  path: string;
  requestStream: false;
  responseStream: true;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

export type MethodDefinition<Req, Res> =
  UnaryMethodDefinition<Req, Res> | ServerStreamingMethodDefinition<Req, Res>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceDefinition = Record<string, MethodDefinition<any, any>>;

// Inferred from the return types, which are covariant, so any concrete definition matches.
export type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req }
  ? Req
  : never;
export type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res }
  ? Res
  : never;
/** True for a server-streaming method. */
export type IsStreaming<M> = M extends { responseStream: true } ? true : false;
