import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { type Browser, chromium, type Page } from "playwright-core"
import { tempAudioDir } from "../support/http.js"
import { freePort } from "../support/net.js"
import { listening, START_SECONDS } from "../support/processes.js"

// The dashboard in a real browser: Debian's chromium, driven by playwright-core, against the built server
// (`node dist/main.js`, built by test/globalSetup.ts) with the real speech engine. Records are evicted 3 s after
// they finish (swept every second), so that an eviction happens while the page is open.

const CHROMIUM = "/usr/bin/chromium"
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
const root = new URL("../../", import.meta.url)
const screenshots = new URL(".screenshots/", root)

let server: ChildProcess | undefined
let browser: Browser | undefined
let page: Page
let base = ""
let output = ""
const problems: Array<string> = []
const taskRequests: Array<string> = []
let navigations = 0

const SHORT_STORY = "Once upon a time, a small fox lived by the river.\n\nThe end."
const LONG_PARAGRAPH = "The fox ran through the quiet forest, past the old oak tree and over the little stream. "
const LONG_STORY = Array.from({ length: 12 }, () => LONG_PARAGRAPH.repeat(6)).join("\n\n")

/** Saves a screenshot of the page under .screenshots/ (git-ignored). */
const shoot = async (name: string) => {
  mkdirSync(screenshots, { recursive: true })
  await page.screenshot({ path: new URL(name, screenshots).pathname })
}

const card = (id: string) => page.locator(`li.task[data-task-id="${id}"]`)

/** Waits, at most `seconds`, for the task's card to show `status`. */
const statusShown = (id: string, status: string, seconds: number) =>
  page.locator(`li.task[data-task-id="${id}"][data-status="${status}"]`).waitFor({ timeout: seconds * 1000 })

/** Submits `story` through the form and answers the new task's id, from the page's own confirmation. */
const submitStory = async (story: string) => {
  const before = (await page.locator("#message").textContent()) ?? ""
  await page.fill("#story", story)
  await page.click("#submit button[type=submit]")
  // A message other than the one before: the page's own confirmation, or its error. (Waits use locators: the page's
  // CSP refuses the string evaluation behind waitForFunction.)
  const changed = page.locator("#message").filter({ hasText: /\S/ })
  await (before === "" ? changed : changed.filter({ hasNotText: before })).waitFor({ timeout: 5000 })
  const message = (await page.locator("#message").textContent()) ?? ""
  const id = /^Submitted ([0-9a-f-]{36}) /.exec(message)?.[1]
  if (id === undefined) throw new Error(`the form did not submit: ${message}`)
  return id
}

/** Starts the server and the browser, and opens the page. */
const start = async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's chromium is not installed at ${CHROMIUM}: run \`npm run test:services\` to install it`)
  }
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: root,
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      AUDIO_DIR: tempAudioDir(),
      TASK_CLEANUP_THRESHOLD: "3",
      TASK_CLEANUP_INTERVAL: "1"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  server = child
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  await listening(child, () => output)

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } })
  page.setDefaultTimeout(10_000)
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`)
  })
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("request", (request) => {
    if (request.method() === "GET" && new URL(request.url()).pathname.startsWith("/api/tasks")) {
      taskRequests.push(request.url())
    }
  })
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations++
  })
  await page.goto(`${base}/`)
  await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 })
}

// Started once, in beforeAll (with time enough for it), and awaited by every test, so that a setup that fails (no
// chromium) fails each test with its reason rather than leaving them skipped.
let started: Promise<void> | undefined
const ready = () => (started ??= start())
const test = (name: string, body: () => Promise<void> | void) =>
  it(name, async () => {
    await ready()
    await body()
  })

beforeAll(() => ready().catch(() => undefined), (START_SECONDS + 60) * 1000)

afterAll(async () => {
  await browser?.close()
  if (server?.exitCode === null) server.kill("SIGKILL")
})

describe("the dashboard in chromium", () => {
  let finished = ""

  test("submits a story through the form and shows it reach COMPLETED, live, with a player per segment", async () => {
    expect(await page.title()).toBe("StoryFlow Tasks")
    finished = await submitStory(SHORT_STORY)
    await statusShown(finished, "COMPLETED", 30)
    const players = card(finished).locator("ol.segments audio")
    expect(await players.count()).toBe(2)
    expect(await card(finished).locator("ol.segments li code").allTextContents()).toEqual(["s1", "s2"])
    expect(await card(finished).locator(".counts").textContent()).toBe("2 / 2 segments · 100%")
    expect(await card(finished).locator("button.cancel").isHidden()).toBe(true)
  })

  test("plays a finished segment: the player loads its metadata, has a duration, and its time advances", async () => {
    const started = performance.now()
    // In the page (as source text: this file is compiled without the DOM's types). The page has been clicked (the
    // form's Submit), so the browser lets it play sound.
    const played: unknown = await page.evaluate(`new Promise((resolve, reject) => {
      const audio = document.querySelector('li.task[data-task-id="${finished}"] ol.segments audio')
      const timer = setTimeout(() => reject(new Error("did not play within 5 s")), 5000)
      audio.addEventListener("timeupdate", () => {
        if (audio.currentTime > 0) {
          clearTimeout(timer)
          audio.pause()
          resolve({ duration: audio.duration, currentTime: audio.currentTime })
        }
      })
      audio.play().catch(reject)
    })`)
    expect(played).toEqual({ duration: expect.any(Number), currentTime: expect.any(Number) })
    const { duration, currentTime } = Object(played)
    expect(duration).toBeGreaterThan(0.3)
    expect(currentTime).toBeGreaterThan(0)
    console.log(`played a segment of ${duration} s, ${(performance.now() - started).toFixed(0)} ms after it finished`)
  })

  test("cancels a running task with its Cancel button", async () => {
    const running = await submitStory(LONG_STORY)
    await statusShown(running, "PROCESSING", 15)
    await card(running).locator("button.cancel").click()
    await statusShown(running, "CANCELLED", 5)
    expect(await card(running).locator("button.cancel").isHidden()).toBe(true)
    expect(await card(running).locator(".error").textContent()).not.toBe("")
    // Both tasks on the page, one with its players: the README's picture (docs/dashboard.png is a copy of it).
    await shoot("dashboard.png")
  })

  test("filters the list by status", async () => {
    await page.selectOption("#filter", "CANCELLED")
    const shown = await page.locator("li.task").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-status")))
    expect(shown.length).toBeGreaterThan(0)
    expect(new Set(shown)).toEqual(new Set(["CANCELLED"]))
    await page.selectOption("#filter", "")
  })

  test("drops an evicted task from the list and shows the eviction and the registry's counts", async () => {
    await card(finished).waitFor({ state: "detached", timeout: 10_000 })
    await page.locator(`#evictions li[data-task-id="${finished}"]`).waitFor({ timeout: 2000 })
    expect(Number(await page.locator("#evicted-count").textContent())).toBeGreaterThanOrEqual(1)
    await page.locator('[data-count="tombstones"]', { hasText: /^[1-9]/ }).waitFor({ timeout: 5000 })
    await shoot("dashboard-evicted.png")
  })

  test("did all of that on one page load, without polling, and logged no errors", () => {
    expect(navigations).toBe(1)
    // The listing is read when the event stream opens (and reopens); everything after comes as events.
    expect(taskRequests.length).toBeLessThanOrEqual(2)
    expect(problems).toEqual([])
  })
})
