/** Hash routes (#/, #/apps/<app>, #/clusters/<cluster>): the server only has to serve index.html. */
export type Route = { readonly page: 'overview' } | { readonly page: 'app'; readonly app: string } | { readonly page: 'cluster'; readonly cluster: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'apps' && parts[1]) return { page: 'app', app: decodeURIComponent(parts[1]) };
  if (parts[0] === 'clusters' && parts[1]) return { page: 'cluster', cluster: decodeURIComponent(parts[1]) };
  return { page: 'overview' };
}

export const appHref = (app: string): string => `#/apps/${encodeURIComponent(app)}`;
export const clusterHref = (cluster: string): string => `#/clusters/${encodeURIComponent(cluster)}`;
