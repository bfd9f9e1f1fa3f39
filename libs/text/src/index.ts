export { PLAIN_TEXT_FORMAT, PLAIN_TEXT_RULE, isPlainText } from './plain-text.js';
