import { decodePayload, encodePayload } from 'switchboard/engine';

const body = encodePayload([{ type: 'message', data: '2["chat","hi"]' }, { type: 'message', data: new Uint8Array([1, 2]) }]);
console.log(JSON.stringify(body)); // → "42[\"chat\",\"hi\"]\u001ebAQI="
console.log(decodePayload(body).length); // → 2
