// The live page: the feed's state kept here, rendered by views.js, and the Buy form making a
// real POST /v1/purchases. No framework, no build step: plain ES modules served by purchase.
import { connectFeed } from './feed-connection.js';
import { renderOrders, renderRates, renderSockets, renderStock } from './views.js';

/** How many orders the page shows; the snapshot carries as many. */
const ORDERS_SHOWN = 50;

const stock = new Map();
let orders = [];

function showState(state, detail) {
  const output = document.querySelector('#connection-state');
  output.dataset.state = state;
  output.textContent = state;
  document.querySelector('#connection-detail').textContent = detail;
}

connectFeed({
  onState: showState,
  onSnapshot(message) {
    stock.clear();
    for (const level of message.stock) stock.set(level.sku, level);
    orders = message.orders;
    renderStock(stock);
    renderOrders(orders);
    renderRates(message.rates);
    renderSockets(message.sockets);
  },
  onChange(message) {
    if (message.type === 'stock') {
      stock.set(message.stock.sku, message.stock);
      renderStock(stock, message.stock.sku);
    } else if (message.type === 'order') {
      if (orders.some((order) => order.orderId === message.order.orderId)) return;
      orders = [message.order, ...orders].slice(0, ORDERS_SHOWN);
      renderOrders(orders);
    } else if (message.type === 'rates') {
      renderRates(message.rates);
    } else if (message.type === 'sockets') {
      renderSockets(message.sockets);
    }
  },
});

document.querySelector('#buy-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = document.querySelector('#buy-result');
  const button = document.querySelector('#buy-button');
  const sku = document.querySelector('#buy-sku').value;
  const quantity = Number(document.querySelector('#buy-quantity').value);
  const customerId = document.querySelector('#buy-customer').value;
  button.disabled = true;
  result.textContent = 'buying…';
  try {
    const response = await fetch('/v1/purchases', {
      method: 'POST',
      // A fresh key per click: a retry of this click would reuse it, a new click is a new order.
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({ customerId, items: [{ sku, quantity }] }),
    });
    const body = await response.json();
    result.textContent = response.ok
      ? `Order ${body.orderId} confirmed.`
      : `Refused: ${body.error?.code ?? response.status}: ${body.error?.message ?? ''}`;
  } catch (error) {
    result.textContent = `Failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});
