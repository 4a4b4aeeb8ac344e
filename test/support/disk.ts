import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/**
 * Every byte under `root`, read from the disk (partial files included): what an operator's `du` would count.
 * Writers and retention run while it reads, so a file or folder that goes between the listing and its `stat`
 * counts as gone (0 bytes), as it is.
 */
export const bytesOnDisk = (root: string): number => {
  let entries
  try {
    entries = readdirSync(root, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0
    throw error
  }
  return entries.reduce((sum, entry) => {
    const path = join(root, entry.name)
    return sum + (entry.isDirectory() ? bytesOnDisk(path) : (statSync(path, { throwIfNoEntry: false })?.size ?? 0))
  }, 0)
}
