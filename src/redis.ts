// `storyflow-tasks/redis`: the registry on Redis, shared by every process that uses the same Redis and key prefix.
// Kept apart from the main entry so that a user of the in-memory registry does not load a Redis client.

/**
 * The Redis registry: `layerConfig` (from the `ConfigProvider`: `REDIS_URL`, `TASK_REDIS_PREFIX`, `TASK_LEASE`,
 * `TASK_MAX_ATTEMPTS` and the `TASK_*` settings), `layerWithTaskIds` (ids from the `TaskIds` you provide: share its
 * key between processes), `layerStore` (without the sweep fiber), `make`.
 */
export * as TaskRegistryRedis from "./layers/redis/TaskRegistryRedis.js"
/** Where the Redis registry keeps its tasks and how long a claim lasts: `layer(config)`, `layerConfig`, `defaults`. */
export * as RedisConfig from "./services/RedisConfig.js"
