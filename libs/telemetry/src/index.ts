export {
  ROOT_CONTEXT,
  SpanKind,
  TRACEPARENT_HEADER,
  contextOfTraceparent,
  currentTraceIds,
  currentTraceparent,
  extractTraceContext,
  inSpan,
  injectTraceContext,
  linkTo,
  markFailed,
  type SpanOptions,
} from './trace-context.js';
