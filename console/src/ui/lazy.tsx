import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describe } from '../ui.js';

/**
 * A page whose code is fetched the first time it is shown (a separate chunk of the build), so the
 * first load carries only the login form and the everyday pages (docs/BENCHMARKS.md, "Web console").
 */
export function lazyPage<P extends object>(load: () => Promise<(props: P) => JSX.Element>): (props: P) => JSX.Element {
  let loaded: ((props: P) => JSX.Element) | undefined;
  return function LazyPage(props: P): JSX.Element {
    const [Page, setPage] = useState(() => loaded);
    const [error, setError] = useState('');
    useEffect(() => {
      if (Page) return;
      let live = true;
      load().then(
        (p) => {
          loaded = p;
          if (live) setPage(() => p);
        },
        (e: unknown) => live && setError(describe(e)),
      );
      return () => {
        live = false;
      };
    }, []);
    if (error)
      return (
        <p class="error" role="alert">
          This page could not be loaded: {error}
        </p>
      );
    return Page ? <Page {...props} /> : <p role="status">Loading…</p>;
  };
}
