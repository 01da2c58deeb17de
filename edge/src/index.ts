/** @leios/edge: the stateless edge relay (Hono Worker + RelayHub Durable Object). */
export {};
