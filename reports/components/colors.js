// Series colours, one meaning one colour on every page, from the Okabe-Ito palette (distinguishable with the
// common colour-vision deficiencies; evidence.config.yaml sets the same palette as the default). Charts pass a map
// as `seriesColors` and the same map to ChartBox, whose legend is HTML (it wraps on a phone instead of paging).
const BLUE = '#0072B2';
const ORANGE = '#E69F00';
const GREEN = '#009E73';
const VERMILLION = '#D55E00';
const PURPLE = '#CC79A7';
const SKY = '#56B4E9';
const GREY = '#999999';

export const ENERGY = { 'Best-of-infeed': BLUE, 'Forecast latest': ORANGE, 'Forecast tradeable': GREEN };
export const SOURCES = { 'Final (DSO)': BLUE, 'Live (VPP)': SKY, Forecast: ORANGE, 'Redispatched (0)': PURPLE };
export const MONEY = { 'Trading revenue': BLUE, 'Imbalance cost (netted)': VERMILLION, 'Margin (complete assets)': GREEN };
export const ASSET_MONEY = {
	'Revenue allocated': BLUE,
	'Payout est.': ORANGE,
	'Imbalance cost': VERMILLION,
	'Margin (complete days)': GREEN
};
export const VWAP = { 'Private VWAP': BLUE, 'Market VWAP': VERMILLION };
export const SIDES = { Sold: GREEN, Bought: VERMILLION };
export const TRADE_SIDES = { SELL: GREEN, BUY: VERMILLION };
export const PRICE = { 'final reBAP': BLUE, estimate: ORANGE, 'no price': GREY };
export const PORTFOLIO_PRICE = { 'final reBAP': BLUE, 'estimate (final reBAP not published)': ORANGE };
export const DIRECTION = { 'Long (produced more than sold)': GREEN, 'Short (produced less)': VERMILLION };
export const LONG_SHORT = { 'Long QHs': GREEN, 'Short QHs': VERMILLION };
export const VALUE = { 'Revenue allocated': BLUE, 'Market value of production': ORANGE };
export const INVOICE_STATUS = { final: GREEN, provisional: ORANGE, blocked: VERMILLION };
export const CHECKS = { passed: GREEN, failed: VERMILLION };
export const DQ_FAILED = { 'Failed, blocking': VERMILLION, 'Failed, warning': ORANGE };
export const SINGLE = { revenue: BLUE, cost: VERMILLION, spread: PURPLE, volume: BLUE };
