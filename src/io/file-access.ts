import fs from 'node:fs';

/** Whether `file` is a regular file this process may use as `mode` says (fs.constants.R_OK, X_OK). */
export function fileWith(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
