export declare const ROOT: string;
export declare function packageVersion(root?: string): string;
export declare function versionSites(root?: string): { site: string; value: string | undefined }[];
export declare function versionMismatches(root?: string): string[];
