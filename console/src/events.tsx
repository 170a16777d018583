// The event table: virtualized (@tanstack/virtual-core: only the visible rows are in the DOM, so a 25,000-event
// history stays responsive), with a type filter, a failed-only filter and each event's JSON on selection.
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from "@tanstack/virtual-core";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { HistoryEvent } from "./api";
import { Json, formatTime } from "./ui";

const ROW_HEIGHT = 28;

export function isFailure(type: string): boolean {
  return /Failed|TimedOut|Aborted/.test(type);
}

function useVirtualizer(count: number, scrollEl: () => HTMLElement | null) {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [v] = useState(
    () =>
      new Virtualizer<HTMLElement, Element>({
        count,
        getScrollElement: scrollEl,
        estimateSize: () => ROW_HEIGHT,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        overscan: 10,
        onChange: () => rerender(0),
      }),
  );
  v.setOptions({ ...v.options, count });
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}

export function EventTable(props: { events: HistoryEvent[] }) {
  const [type, setType] = useState("");
  const [failedOnly, setFailedOnly] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const types = useMemo(() => [...new Set(props.events.map((e) => e.type))].sort(), [props.events]);
  const rows = useMemo(
    () => props.events.filter((e) => (!type || e.type === type) && (!failedOnly || isFailure(e.type))),
    [props.events, type, failedOnly],
  );
  const scrollRef = useRef<HTMLDivElement>(null);
  const v = useVirtualizer(rows.length, () => scrollRef.current);
  const chosen = rows.find((e) => e.id === selected) ?? null;
  useEffect(() => {
    if (selected && !chosen) setSelected(null);
  }, [chosen, selected]);
  const move = (delta: number) => {
    const i = Math.max(0, Math.min(rows.length - 1, rows.findIndex((e) => e.id === selected) + delta));
    if (rows[i]) {
      setSelected(rows[i].id);
      v.scrollToIndex(i);
    }
  };
  return (
    <div class="events">
      <div class="filters">
        <label>
          Type{" "}
          <select name="eventType" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">all ({props.events.length})</option>
            {types.map((t) => (
              <option key={t} value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" name="failedOnly" checked={failedOnly} onChange={(e) => setFailedOnly(e.currentTarget.checked)} /> failed only
        </label>
        <span class="muted">{rows.length} events</span>
      </div>
      <div class="event-split">
        <div
          class="event-scroll"
          ref={scrollRef}
          tabIndex={0}
          role="grid"
          aria-label="events"
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") { move(1); e.preventDefault(); }
            if (e.key === "ArrowUp") { move(-1); e.preventDefault(); }
          }}
        >
          <div style={{ height: `${v.getTotalSize()}px`, position: "relative" }}>
            {v.getVirtualItems().map((item) => {
              const e = rows[item.index];
              return (
                <div
                  key={e.id}
                  role="row"
                  class={`event-row ${isFailure(e.type) ? "failure" : ""} ${selected === e.id ? "selected" : ""}`}
                  data-type={e.type}
                  style={{ transform: `translateY(${item.start}px)`, height: `${ROW_HEIGHT}px` }}
                  onClick={() => setSelected(e.id)}
                >
                  <span class="event-id">{e.id}</span>
                  <span class="event-type">{e.type}</span>
                  <span class="event-time">{formatTime(e.timestamp)}</span>
                </div>
              );
            })}
          </div>
        </div>
        <div class="event-detail">{chosen ? <Json value={chosen} label="event JSON" /> : <p class="muted">Select an event (arrow keys move).</p>}</div>
      </div>
    </div>
  );
}
