import type { RefObject } from "preact";
import { useCallback, useLayoutEffect, useReducer, useState } from "preact/hooks";
import type { VirtualItem } from "@tanstack/virtual-core";
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from "@tanstack/virtual-core";

/**
 * Rows of a scrolling container, only those in view (plus overscan) rendered: a table of 100k
 * runs costs as much to draw as one of 40.
 */
export function useVirtualRows(
  count: number,
  scroller: RefObject<HTMLElement | null>,
  rowHeight: number,
): { items: VirtualItem[]; total: number; toTop: () => void } {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [virtualizer] = useState(
    () =>
      new Virtualizer<HTMLElement, HTMLElement>({
        count,
        getScrollElement: () => scroller.current,
        estimateSize: () => rowHeight,
        overscan: 12,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        onChange: () => rerender(undefined),
      }),
  );
  virtualizer.setOptions({ ...virtualizer.options, count, estimateSize: () => rowHeight });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  // The virtualizer learns the scroll position from scroll events, which the browser sends with its
  // next frame: rows drawn before then would be those of the old position. The synthetic event lets
  // it read the new position at once.
  const toTop = useCallback(() => {
    const el = scroller.current;
    if (el === null) return;
    el.scrollTop = 0;
    el.dispatchEvent(new Event("scroll"));
  }, [scroller]);
  return { items: virtualizer.getVirtualItems(), total: virtualizer.getTotalSize(), toTop };
}
