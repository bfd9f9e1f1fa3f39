// Rendering of the page's panels from the feed's state. Text only (textContent), never HTML
// from the feed, so nothing a SKU or customer name holds can run as markup.

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

/** The stock table and the Buy form's SKU list, from a Map of sku -> level. */
export function renderStock(stock, changedSku) {
  const body = document.querySelector('#stock tbody');
  body.replaceChildren();
  const select = document.querySelector('#buy-sku');
  const selected = select.value;
  select.replaceChildren();
  for (const level of [...stock.values()].sort((a, b) => a.sku.localeCompare(b.sku))) {
    const row = body.insertRow();
    row.dataset.sku = level.sku;
    if (level.sku === changedSku) row.className = 'changed';
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = level.sku;
    row.append(th);
    cell(row, level.available, 'number').dataset.field = 'available';
    cell(row, level.reserved, 'number');
    cell(row, level.onHand, 'number');
    select.add(new Option(level.sku, level.sku, false, level.sku === selected));
  }
}

/** The order stream, newest first. */
export function renderOrders(orders) {
  const list = document.querySelector('#orders');
  list.replaceChildren(
    ...orders.map((order) => {
      const item = document.createElement('li');
      item.dataset.orderId = order.orderId;
      const items = order.items.map(({ sku, quantity }) => `${quantity} × ${sku}`).join(', ');
      const time = new Date(order.createdAt).toLocaleTimeString();
      item.textContent = `${time} ${order.customerId}: ${items} (${order.orderId.slice(0, 8)})`;
      return item;
    }),
  );
}

/** The topology's links with their transport, rate, p99 and TLS. */
export function renderRates(rates) {
  const body = document.querySelector('#links tbody');
  body.replaceChildren();
  for (const link of rates.links ?? []) {
    const row = body.insertRow();
    cell(row, link.link);
    cell(row, link.transport);
    cell(row, link.inUse ? 'yes' : 'no');
    cell(row, link.callsPerSecond, 'number');
    cell(row, link.p99Ms === null ? '–' : `≤ ${link.p99Ms} ms`, 'number');
    cell(row, link.tls ? 'yes' : 'no');
  }
}

/**
 * Each service's listening sockets and its open ones counted by role and peer, as the feed
 * summarizes its GET /sockets.
 */
export function renderSockets(sockets) {
  const container = document.querySelector('#sockets');
  container.replaceChildren();
  for (const [service, report] of Object.entries(sockets)) {
    const heading = document.createElement('h3');
    container.append(heading);
    if (report.error) {
      heading.textContent = `${service}: not reachable (${report.error})`;
      continue;
    }
    const open = report.connections.reduce((sum, group) => sum + group.count, 0);
    heading.textContent = `${service}: ${report.listening.length} listening, ${open} open`;
    const table = document.createElement('table');
    table.className = 'sockets';
    const head = table.createTHead().insertRow();
    for (const title of ['Role', 'Name', 'Protocol', 'Address / state', 'TLS', 'Count']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = title;
      head.append(th);
    }
    const body = table.createTBody();
    for (const listener of report.listening) {
      const row = body.insertRow();
      row.dataset.role = 'listener';
      for (const text of [
        'listening',
        listener.declaredAs ?? '(undeclared)',
        listener.protocol,
        listener.local,
        listener.tls ? 'yes' : 'no',
        1,
      ])
        cell(row, text);
    }
    for (const group of report.connections) {
      const row = body.insertRow();
      row.dataset.role = group.role;
      for (const text of [
        group.role,
        group.peer,
        group.protocol,
        group.state,
        group.tls ? 'yes' : 'no',
        group.count,
      ])
        cell(row, text);
    }
    container.append(table);
  }
}
