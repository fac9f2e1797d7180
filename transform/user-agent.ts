// User agent → device type, browser and OS with ua-parser-js (MIT v1); bots flagged so models leave them out.
import { UAParser } from 'ua-parser-js';

const BOT_RE = /bot\b|bot\/|crawl|spider|slurp|bingpreview|facebookexternalhit|headlesschrome|phantomjs|python-requests|curl\/|wget\/|go-http-client|axios\/|node-fetch|lighthouse|pingdom|uptimerobot|ahrefs|semrush|yandex(bot|images)|baiduspider|duckduckbot|applebot|petalbot|bytespider|gptbot|claudebot|ccbot/i;

export interface DeviceInfo {
  device: 'desktop' | 'mobile' | 'tablet' | 'other' | '';
  browser: string;
  os: string;
  isBot: boolean;
}

const cache = new Map<string, DeviceInfo>();

export function parseUserAgent(ua: string | undefined | null): DeviceInfo {
  if (!ua) return { device: '', browser: '', os: '', isBot: false };
  const hit = cache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const type = r.device.type;
  const isBot = BOT_RE.test(ua);
  const info: DeviceInfo = {
    device: type === 'mobile' ? 'mobile' : type === 'tablet' ? 'tablet' : type ? 'other' : 'desktop',
    browser: r.browser.name ?? '',
    os: r.os.name ?? '',
    isBot,
  };
  if (cache.size > 10_000) cache.clear();
  cache.set(ua, info);
  return info;
}
