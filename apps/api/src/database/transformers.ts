import type { ValueTransformer } from 'typeorm';

/** numeric columns arrive from pg as strings; these hold small ratios, so a JS number is exact enough. */
export const numericNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};
