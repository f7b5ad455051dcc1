/** The pool's worker process: production tasks only. */
import { serve } from './serve.js';
import { TASKS } from './tasks.js';

serve(TASKS);
