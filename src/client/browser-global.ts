/**
 * Entry of the `<script>` bundle: defines the global `switchboard` (`switchboard.io(...)`).
 * A plain assignment instead of the bundler's export shim keeps the script small.
 */
import { io, Manager, protocol, Socket } from './browser.js';

(globalThis as Record<string, unknown>).switchboard = { io, connect: io, Manager, Socket, protocol };
