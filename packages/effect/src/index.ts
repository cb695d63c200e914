export { tollgateClock } from "./Clock.js";
