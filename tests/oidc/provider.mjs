// A real OpenID Connect provider for the SSO tests (oauth2-mock-server: discovery, JWKS, an
// authorization endpoint that approves at once, a token endpoint that checks PKCE and signs RS256
// ID tokens carrying the nonce). Prints "issuer <url>" once it listens.
//
// The client id chooses how the ID token misbehaves, so one provider serves every case:
//   bad-aud → aud is someone else;  expired → exp an hour ago;  bad-nonce → a nonce nobody sent.
// OIDC_EMAIL sets the (verified) email claim.
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
server.service.on('beforeTokenSigning', (token, req) => {
  const clientId = req.body?.client_id;
  token.payload.email = process.env.OIDC_EMAIL ?? 'johndoe@sso.example';
  token.payload.email_verified = true;
  if (clientId === 'bad-aud') token.payload.aud = 'someone-else';
  if (clientId === 'expired') token.payload.exp = Math.floor(Date.now() / 1000) - 3600;
  if (clientId === 'bad-nonce') token.payload.nonce = 'not-the-nonce';
});
await server.start(0, '127.0.0.1');
server.issuer.url = `http://127.0.0.1:${server.address().port}`;
console.log(`issuer ${server.issuer.url}`);
