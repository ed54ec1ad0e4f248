/** True when `<root>/dist/build.json` lists inputs none of which is newer than the build (or missing). */
export declare function isBuildFresh(root: string): boolean;
