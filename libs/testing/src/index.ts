export { REPO_ROOT, composeImage } from './compose-images.js';
export { createDatabase, startPostgres } from './postgres.js';
