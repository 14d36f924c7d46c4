// lrscope explorer -- the setup on the page (`state`), the server's options and colours, and their setters.

export let COLORS = {};        // verdict badge colours, from the server (the same table as the CLI's)
let RATES = [];         // one colour per learning rate, the same in every chart (and in the CLI's PNGs)
export let DASH = {};          // the verdict as a line style
export const rateColor = (k) => RATES[k % RATES.length];
export const $ = (id) => document.getElementById(id);
export let OPTIONS = null;
export let state = null;

export function defaults() {
  return {
    objective: { kind: "builtin", name: "x2", formula: "x**2 + 10*y**2", x0: [10], dataset: "digits", model: "", standardize: true },
    optimizer: { name: "gd", params: {} },
    schedule: { name: "constant", params: {}, warmup: 0 },
    steps: 100, mode: "batch", batch_size: 32, compare: "",
    lrs: [0.001, 0.1, 0.5, 1.1],
  };
}

export function setState(st) { state = st; }
export function setOptions(options) {      // the catalogue and the colours, from /api/options
  OPTIONS = options; COLORS = options.verdict_colors; RATES = options.rate_colors; DASH = options.verdict_dash;
}
