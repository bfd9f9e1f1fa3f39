/**
 * What the purchase flow logs through. The domain names no logging library: app.ts passes its
 * pino logger, which fits this shape.
 */
export interface Logger {
  warn(details: object, message: string): void;
}
