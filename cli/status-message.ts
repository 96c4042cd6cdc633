/** The one-line error fold lives with the statuses (the dashboard shows it too). */
export { foldError } from '../reconciler/status/fold-error.ts';
