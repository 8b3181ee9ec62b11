export declare const CHART: string;
/** Differences between manifests/crds and the chart's copy, as sentences. */
export declare function staleCrds(): string[];
export declare function syncCrds(): void;
