export {
  ORDER_CANCELLED,
  ORDER_CONFIRMED,
  STOCK_CHANGED,
  stockChangedSubject,
} from './event-types.js';
export {
  DEAD_LETTER_STREAM,
  DUPLICATE_WINDOW_MS,
  INVENTORY_STREAM,
  ORDERS_STREAM,
} from './streams.js';
