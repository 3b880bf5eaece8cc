// The DOM: built once from the static skeleton in index.html, then touched once per
// animation frame, and only where something changed. Numbers that move with every
// message (zone averages, rates, charts) are sampled five times a second instead.
import type { ClientState, StateInfo } from '@switchboard/client';
import type { AlertData } from '../contract.js';
import {
  ALERT_CELSIUS,
  CRITICAL_CELSIUS,
  RATE_PRESETS,
  SENSORS_PER_ZONE,
  sensorId,
  ZONES,
  type Zone,
} from '../shared.js';
import { LiveChart } from './charts.js';
import { connectionLabel } from './connection-label.js';
import { ago, clock, integer, oneDecimal, rateLabel } from './format.js';
import type { DashboardModel } from './model.js';

export interface ViewActions {
  setRate(updatesPerSecond: number): void;
  setPaused(zone: Zone, paused: boolean): void;
  acknowledge(id: number): void;
}

export type NoticeKind = 'gap' | 'error';

const ZONE_COLORS: Record<Zone, string> = { north: '#38bdf8', south: '#a78bfa', east: '#34d399', west: '#fbbf24' };
const SAMPLE_EVERY_MS = 200;
const CHART_WINDOW_S = 120;
/** The bar of a reading spans 0 to this many °C. */
const BAR_MAX_CELSIUS = 110;
const NOTICE_MS = 15_000;
/** Alerts drawn at most; the count says how many more there are. */
const MAX_ALERTS_SHOWN = 40;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className !== '') element.className = className;
  if (text !== '') element.textContent = text;
  return element;
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

function levelOf(value: number): '' | 'warn' | 'crit' {
  if (value >= CRITICAL_CELSIUS) return 'crit';
  return value >= ALERT_CELSIUS ? 'warn' : '';
}

interface Row {
  tr: HTMLTableRowElement;
  value: Text;
  bar: HTMLSpanElement;
  time: Text;
  level: string;
  /** In (or near) the scrolled view: only these are drawn, the rest wait until they are. */
  visible: boolean;
}

interface ZoneCard {
  card: HTMLElement;
  average: HTMLElement;
  max: HTMLElement;
  rate: HTMLElement;
  badge: HTMLElement;
  toggle: HTMLButtonElement;
}

interface AlertItem {
  item: HTMLLIElement;
  when: HTMLElement;
  button: HTMLButtonElement;
}

interface StreamChip {
  chip: HTMLElement;
  position: HTMLElement;
}

export class DashboardView {
  readonly #model: DashboardModel;
  readonly #actions: ViewActions;
  readonly #queuedCalls: () => number;
  readonly #rows = new Map<string, Row>();
  readonly #dirtyRows = new Set<string>();
  readonly #zones = new Map<Zone, ZoneCard>();
  readonly #presets = new Map<number, HTMLButtonElement>();
  readonly #streamChips = new Map<string, StreamChip>();
  readonly #alertItems = new Map<number, AlertItem>();
  readonly #moreAlerts = el('li', 'more');
  readonly #pending = new Map<string, number>();
  readonly #zoneChart: LiveChart;
  readonly #rateChart: LiveChart;
  readonly #serverChart: LiveChart;
  /** Recent (time, count per zone) samples, for rates over the last second. */
  #rateSamples: Array<{ atMs: number; counts: number[] }> = [];
  #lastSampleMs = 0;
  #lastAlertsDrawMs = 0;
  #connectionState: ClientState = 'connecting';
  #reconnectAtMs: number | undefined;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #framesThisSecond = 0;
  #fpsSinceMs = 0;
  #fps = 0;
  /** Table rows redrawn since the page loaded (rows in view only). */
  rowUpdates = 0;

  constructor(model: DashboardModel, actions: ViewActions, queuedCalls: () => number) {
    this.#model = model;
    this.#actions = actions;
    this.#queuedCalls = queuedCalls;
    this.#buildPresets();
    this.#buildZones();
    this.#buildTable();
    byId('notice-dismiss').addEventListener('click', () => this.#hideNotice());
    byId('alerts').addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-alert]');
      if (button !== null && !button.disabled) this.#actions.acknowledge(Number(button.dataset.alert));
    });
    this.#zoneChart = new LiveChart(byId('chart-zones'), {
      series: ZONES.map((zone) => ({ label: zone, color: ZONE_COLORS[zone] })),
      windowS: CHART_WINDOW_S,
      y: (value, step) => `${value.toFixed(step < 1 ? 1 : 0)}°`,
    });
    this.#rateChart = new LiveChart(byId('chart-rate'), {
      series: [{ label: 'received', color: '#22d3ee', fill: true }],
      windowS: CHART_WINDOW_S,
      y: (value) => integer.format(value),
      fromZero: true,
    });
    this.#serverChart = new LiveChart(byId('chart-server'), {
      series: [
        { label: 'loop p99', color: '#f472b6', fill: true },
        { label: 'heap', color: '#60a5fa', scale: 'y2' },
      ],
      windowS: CHART_WINDOW_S,
      y: (value, step) => `${value.toFixed(step < 1 ? 1 : 0)} ms`,
      y2: (value, step) => `${value.toFixed(step < 1 ? 1 : 0)} MB`,
      fromZero: true,
    });
  }

  // ── building ────────────────────────────────────────────────────────────

  #buildPresets(): void {
    const group = byId('rate-presets');
    for (const rate of RATE_PRESETS) {
      const button = el('button', 'segment', rateLabel(rate));
      button.type = 'button';
      button.dataset.rate = String(rate);
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', () => this.#actions.setRate(rate));
      group.append(button);
      this.#presets.set(rate, button);
    }
  }

  #buildZones(): void {
    const row = byId('zones');
    const legend = byId('zone-legend');
    for (const zone of ZONES) {
      const card = el('article', 'card zone');
      card.dataset.zone = zone;
      card.style.setProperty('--zone', ZONE_COLORS[zone]);
      const header = el('header');
      const title = el('h2', '', zone);
      const badge = el('span', 'badge', 'live');
      const toggle = el('button', 'toggle', 'Pause');
      toggle.type = 'button';
      toggle.dataset.zone = zone;
      toggle.setAttribute('aria-pressed', 'false');
      toggle.addEventListener('click', () => {
        const paused = this.#model.feed?.paused[zone] === true;
        this.#actions.setPaused(zone, !paused);
      });
      header.append(el('i', 'swatch'), title, badge, toggle);
      const metric = el('div', 'metric');
      const average = el('span', 'value', '–');
      metric.append(average, el('span', 'unit', '°C avg'));
      const sub = el('div', 'sub');
      const max = el('b', '', '–');
      const rate = el('b', '', '0');
      sub.append(el('span', '', 'max '), max, el('span', 'sep', '·'), rate, el('span', '', ' msg/s'));
      card.append(header, metric, sub);
      row.insertBefore(card, byId('server-card'));
      const item = el('li');
      item.style.setProperty('--zone', ZONE_COLORS[zone]);
      item.append(el('i', 'swatch'), el('span', '', zone));
      legend.append(item);
      this.#zones.set(zone, { card, average, max, rate, badge, toggle });
    }
  }

  #buildTable(): void {
    const body = byId<HTMLTableElement>('readings').tBodies[0] as HTMLTableSectionElement;
    const rowsByElement = new Map<Element, Row>();
    // At thousands of readings a second every row changes every frame, but a dozen are on
    // screen: drawing only those keeps the frame short. A row scrolled into view is drawn then.
    const visibility = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const row = rowsByElement.get(entry.target);
          if (row !== undefined) row.visible = entry.isIntersecting;
        }
      },
      { root: body.closest('.table-scroll'), rootMargin: '120px 0px' },
    );
    for (const zone of ZONES) {
      for (let index = 0; index < SENSORS_PER_ZONE; index++) {
        const id = sensorId(zone, index);
        const tr = el('tr');
        tr.dataset.sensor = id;
        tr.style.setProperty('--zone', ZONE_COLORS[zone]);
        const name = el('td', 'id');
        name.append(el('i', 'swatch'), document.createTextNode(id));
        const value = document.createTextNode('–');
        const time = document.createTextNode('–');
        const bar = el('span');
        const cells = [el('td', 'num value'), el('td', 'bar'), el('td', 'num time')] as const;
        cells[0].append(value);
        cells[1].append(bar);
        cells[2].append(time);
        tr.append(name, ...cells);
        body.append(tr);
        const row: Row = { tr, value, bar, time, level: '', visible: false };
        this.#rows.set(id, row);
        rowsByElement.set(tr, row);
        visibility.observe(tr);
      }
    }
  }

  // ── what main.ts tells the view ─────────────────────────────────────────

  /** These sensors' rows are redrawn on the next frame. */
  markChanged(ids: readonly string[]): void {
    for (const id of ids) this.#dirtyRows.add(id);
  }

  connection(state: ClientState, info: StateInfo): void {
    if ((state === 'open') !== (this.#connectionState === 'open')) this.#model.feedChanged = true;
    this.#connectionState = state;
    this.#reconnectAtMs =
      state === 'reconnecting' && info.nextDelayMs !== undefined ? performance.now() + info.nextDelayMs : undefined;
  }

  /** A control's call started (true) or settled (false): its button shows it is waiting. */
  setPending(key: string, pending: boolean): void {
    const count = (this.#pending.get(key) ?? 0) + (pending ? 1 : -1);
    if (count > 0) this.#pending.set(key, count);
    else this.#pending.delete(key);
    this.#model.feedChanged = true;
    this.#model.alertsChanged = true;
  }

  notice(kind: NoticeKind, text: string): void {
    const notice = byId('notice');
    notice.dataset.kind = kind;
    setText(byId('notice-text'), text);
    notice.hidden = false;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => this.#hideNotice(), NOTICE_MS);
  }

  #hideNotice(): void {
    byId('notice').hidden = true;
  }

  get fps(): number {
    return this.#fps;
  }

  get chartPoints(): { zones: number; rate: number; server: number } {
    return { zones: this.#zoneChart.points, rate: this.#rateChart.points, server: this.#serverChart.points };
  }

  // ── once per animation frame ────────────────────────────────────────────

  frame(nowMs: number): void {
    this.#countFrame(nowMs);
    this.#drawRows();
    if (nowMs - this.#lastSampleMs >= SAMPLE_EVERY_MS) {
      this.#lastSampleMs = nowMs;
      this.#sample(nowMs);
    }
    const model = this.#model;
    if (model.feedChanged) {
      model.feedChanged = false;
      this.#drawFeed();
    }
    if (model.alertsChanged || nowMs - this.#lastAlertsDrawMs >= 1000) {
      model.alertsChanged = false;
      this.#lastAlertsDrawMs = nowMs;
      this.#drawAlerts();
    }
    if (model.statsChanged) {
      model.statsChanged = false;
      this.#drawStats();
    }
    this.#drawConnection(nowMs);
    this.#drawStreams();
  }

  #countFrame(nowMs: number): void {
    this.#framesThisSecond++;
    if (nowMs - this.#fpsSinceMs < 1000) return;
    this.#fps = Math.round((this.#framesThisSecond * 1000) / (nowMs - this.#fpsSinceMs));
    this.#framesThisSecond = 0;
    this.#fpsSinceMs = nowMs;
    setText(byId('fps'), `${this.#fps} fps`);
  }

  #drawRows(): void {
    if (this.#dirtyRows.size === 0) return;
    const readings = this.#model.readings;
    for (const id of this.#dirtyRows) {
      const row = this.#rows.get(id);
      const reading = readings.get(id);
      if (row === undefined || reading === undefined) {
        this.#dirtyRows.delete(id);
        continue;
      }
      if (!row.visible) continue;
      this.#dirtyRows.delete(id);
      // Text nodes changed in place: no new nodes per update.
      row.value.nodeValue = reading.value.toFixed(1);
      row.bar.style.transform = `scaleX(${Math.min(1, Math.max(0, reading.value / BAR_MAX_CELSIUS))})`;
      row.time.nodeValue = clock(reading.time);
      const level = levelOf(reading.value);
      if (level !== row.level) {
        row.level = level;
        row.tr.className = level;
      }
      this.rowUpdates++;
    }
  }

  /** Zone averages and per-zone rates: into the cards and the charts. */
  #sample(nowMs: number): void {
    const readings = this.#model.readings;
    const counts = ZONES.map((zone) => this.#model.stream(`readings/${zone}`).count);
    this.#rateSamples.push({ atMs: nowMs, counts });
    // Keep the newest sample at least a second old, and nothing older.
    while (this.#rateSamples.length > 2 && nowMs - (this.#rateSamples[1]?.atMs ?? nowMs) >= 1000) {
      this.#rateSamples.shift();
    }
    const oldest = this.#rateSamples[0] as { atMs: number; counts: number[] };
    const spanS = (nowMs - oldest.atMs) / 1000;
    const averages: number[] = [];
    const rates: number[] = [];
    ZONES.forEach((zone, zoneIndex) => {
      let sum = 0;
      let max = Number.NEGATIVE_INFINITY;
      let n = 0;
      for (let index = 0; index < SENSORS_PER_ZONE; index++) {
        const reading = readings.get(sensorId(zone, index));
        if (reading === undefined) continue;
        sum += reading.value;
        n++;
        if (reading.value > max) max = reading.value;
      }
      const average = n === 0 ? Number.NaN : sum / n;
      const rate = spanS > 0 ? ((counts[zoneIndex] as number) - (oldest.counts[zoneIndex] as number)) / spanS : 0;
      averages.push(average);
      rates.push(rate);
      const card = this.#zones.get(zone) as ZoneCard;
      setText(card.average, n === 0 ? '–' : oneDecimal.format(average));
      setText(card.max, n === 0 ? '–' : oneDecimal.format(max));
      setText(card.rate, integer.format(rate));
    });
    const total = rates.reduce((sum, rate) => sum + rate, 0);
    setText(byId('rate-now'), `${integer.format(total)} msg/s`);
    if (spanS <= 0 || averages.some(Number.isNaN)) return;
    const xSeconds = Date.now() / 1000;
    this.#zoneChart.push(xSeconds, averages);
    this.#rateChart.push(xSeconds, [total]);
  }

  #drawFeed(): void {
    const feed = this.#model.feed;
    if (feed === undefined) return;
    const ratePending = this.#pending.has('rate');
    for (const [rate, button] of this.#presets) {
      button.setAttribute('aria-pressed', String(rate === feed.updatesPerSecond));
      button.classList.toggle('pending', ratePending);
    }
    setText(byId('rate-value'), integer.format(feed.updatesPerSecond));
    const live = this.#connectionState === 'open';
    for (const [zone, card] of this.#zones) {
      const paused = feed.paused[zone];
      const pending = this.#pending.has(`pause:${zone}`);
      card.card.classList.toggle('paused', paused);
      card.card.classList.toggle('stale', !live);
      // Without a connection the numbers are the last ones received, not live ones.
      setText(card.badge, paused ? 'paused' : live ? 'live' : 'stale');
      setText(card.toggle, pending ? (paused ? 'Resuming…' : 'Pausing…') : paused ? 'Resume' : 'Pause');
      card.toggle.setAttribute('aria-pressed', String(paused));
      card.toggle.classList.toggle('pending', pending);
    }
  }

  /**
   * Keyed by alert: an item stays the same element while its alert is open, so a click
   * is never lost to a redraw between mouse-down and mouse-up.
   */
  #drawAlerts(): void {
    const list = byId('alerts');
    const alerts = [...this.#model.alerts.values()].sort((a, b) => b.raisedAt - a.raisedAt);
    setText(byId('alert-count'), String(alerts.length));
    byId('alerts-card').classList.toggle('has-alerts', alerts.length > 0);
    byId('alerts-empty').hidden = alerts.length > 0;
    const now = Date.now();
    const shown = alerts.slice(0, MAX_ALERTS_SHOWN);
    const keep = new Set(shown.map((alert) => alert.id));
    for (const [id, item] of this.#alertItems) {
      if (keep.has(id)) continue;
      item.item.remove();
      this.#alertItems.delete(id);
    }
    let next: ChildNode | null = list.firstChild;
    for (const alert of shown) {
      const item = this.#alertItem(alert);
      setText(item.when, `${alert.level} · ${ago(alert.raisedAt, now)}`);
      const pending = this.#pending.has(`ack:${alert.id}`);
      setText(item.button, pending ? 'Acknowledging…' : 'Acknowledge');
      item.button.disabled = pending;
      if (next === item.item) next = next.nextSibling;
      else list.insertBefore(item.item, next);
    }
    const more = alerts.length - shown.length;
    this.#moreAlerts.hidden = more === 0;
    setText(this.#moreAlerts, `+ ${more} more`);
    list.append(this.#moreAlerts);
  }

  #alertItem(alert: AlertData): AlertItem {
    const existing = this.#alertItems.get(alert.id);
    if (existing !== undefined) return existing;
    const item = el('li', `alert ${alert.level}`);
    item.dataset.alertId = String(alert.id);
    const what = el('div', 'what');
    const title = el('div', 'title');
    title.append(el('b', '', alert.sensor), el('span', 'reading', `${oneDecimal.format(alert.value)} °C`));
    const when = el('div', 'when');
    what.append(title, when);
    const button = el('button', 'ack', 'Acknowledge');
    button.type = 'button';
    button.dataset.alert = String(alert.id);
    item.append(el('i', 'level-dot'), what, button);
    const created = { item, when, button };
    this.#alertItems.set(alert.id, created);
    return created;
  }

  #drawStats(): void {
    const stats = this.#model.stats;
    if (stats === undefined) return;
    const heapMb = stats.memory.heapUsedBytes / (1024 * 1024);
    setText(byId('stat-connections'), integer.format(stats.connections));
    setText(byId('stat-published'), `${integer.format(stats.publishedPerSecond)}/s`);
    setText(byId('stat-loop'), `${stats.eventLoopDelayMs.p99.toFixed(1)} ms`);
    setText(byId('stat-heap'), `${heapMb.toFixed(0)} MB`);
    setText(byId('server-now'), `${integer.format(stats.publishedPerSecond)} published/s`);
    this.#serverChart.push(stats.time / 1000, [stats.eventLoopDelayMs.p99, heapMb]);
  }

  #drawConnection(nowMs: number): void {
    const indicator = byId('connection');
    const queued = this.#queuedCalls();
    const state = this.#connectionState;
    if (indicator.dataset.state !== state) indicator.dataset.state = state;
    indicator.classList.toggle('queued', queued > 0);
    setText(byId('connection-text'), connectionLabel(state, this.#reconnectAtMs, queued, nowMs));
  }

  #drawStreams(): void {
    for (const tracker of this.#model.streams.values()) {
      let chip = this.#streamChips.get(tracker.label);
      if (chip === undefined) {
        const element = el('span', 'stream');
        element.dataset.stream = tracker.label;
        const position = el('code', 'position', '–');
        element.append(el('span', 'name', tracker.label.replace('readings/', '')), position);
        byId('streams').append(element);
        chip = { chip: element, position };
        this.#streamChips.set(tracker.label, chip);
      }
      setText(chip.position, tracker.position ?? '–');
      if (tracker.gaps > 0 && !chip.chip.classList.contains('gap')) {
        chip.chip.classList.add('gap');
        chip.chip.title = `${tracker.label}: the client reported a gap (missed messages it could not replay)`;
      }
    }
  }
}
