/**
 * Every command's flag table by name: the launcher grants by it
 * (`permissions.ts`) and `mcast help NAME` prints it. Adding a command:
 * see `flag_table.ts`.
 *
 * @module
 */

import { DEMO_TABLE } from "./demo_flags.ts";
import { DOCTOR_TABLE } from "./doctor_flags.ts";
import type { CommandTable } from "./flag_table.ts";
import { LISTEN_TABLE } from "./listen_flags.ts";
import { MESH_TABLE } from "./mesh_flags.ts";
import { SEND_TABLE } from "./send_flags.ts";

/** The commands' tables, by command name. */
export const COMMAND_TABLES: Readonly<Record<string, CommandTable>> = {
  send: SEND_TABLE,
  listen: LISTEN_TABLE,
  mesh: MESH_TABLE,
  demo: DEMO_TABLE,
  doctor: DOCTOR_TABLE,
};
