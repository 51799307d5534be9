export {
  DigestBuilder,
  digestLimits,
  type Digest,
  type DigestDay,
  type DigestDomain,
  type DigestSmtpTls,
  type DigestSource,
} from './model.js';
export { dailyChart, encodePng, type DailyChart } from './chart.js';
export { renderDigestHtml, renderDigestText, type DigestRenderOptions } from './render.js';
