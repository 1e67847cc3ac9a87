// Preloaded (`node --import`) to resolve `localhost` as macOS and Debian do: ::1 first, then 127.0.0.1.
// The test machine's /etc/hosts names 127.0.0.1 alone, which hides what a client does on those systems.
import dns from 'node:dns';

const lookup = dns.lookup;
dns.lookup = function lookupLocalhostIpv6First(host, options, callback) {
  if (typeof options === 'function') return lookupLocalhostIpv6First(host, {}, options);
  const wanted = typeof options === 'number' ? { family: options } : (options ?? {});
  if (host !== 'localhost') return lookup.call(this, host, options, callback);
  const all = [
    { address: '::1', family: 6 },
    { address: '127.0.0.1', family: 4 },
  ].filter((a) => !wanted.family || a.family === wanted.family);
  if (wanted.all) process.nextTick(callback, null, all);
  else process.nextTick(callback, null, all[0].address, all[0].family);
};
